--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: assistants; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.assistants (
    seq integer NOT NULL,
    id character varying(64) NOT NULL,
    created_at bigint NOT NULL,
    name character varying,
    description character varying,
    model character varying NOT NULL,
    instructions character varying,
    tools json NOT NULL,
    tool_resources json,
    metadata json NOT NULL,
    temperature double precision,
    top_p double precision,
    response_format json,
    reasoning_effort character varying
);


--
-- Name: assistants_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.assistants_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: assistants_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.assistants_seq_seq OWNED BY public.assistants.seq;


--
-- Name: chunks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.chunks (
    seq integer NOT NULL,
    vector_store_id character varying(64) NOT NULL,
    file_id character varying(64) NOT NULL,
    "position" integer NOT NULL,
    text character varying NOT NULL,
    tokens integer NOT NULL,
    embedding bytea NOT NULL
);


--
-- Name: chunks_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.chunks_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: chunks_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.chunks_seq_seq OWNED BY public.chunks.seq;


--
-- Name: files; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.files (
    seq integer NOT NULL,
    id character varying(64) NOT NULL,
    created_at bigint NOT NULL,
    filename character varying NOT NULL,
    purpose character varying(32) NOT NULL,
    bytes bigint NOT NULL,
    status character varying NOT NULL,
    expires_at bigint
);


--
-- Name: files_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.files_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: files_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.files_seq_seq OWNED BY public.files.seq;


--
-- Name: messages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages (
    seq integer NOT NULL,
    id character varying(64) NOT NULL,
    created_at bigint NOT NULL,
    thread_id character varying(64) NOT NULL,
    status character varying NOT NULL,
    role character varying NOT NULL,
    content json NOT NULL,
    assistant_id character varying,
    run_id character varying(64),
    attachments json NOT NULL,
    metadata json NOT NULL,
    incomplete_details json,
    completed_at bigint,
    incomplete_at bigint
);


--
-- Name: messages_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.messages_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: messages_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.messages_seq_seq OWNED BY public.messages.seq;


--
-- Name: pygentic_event_blobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.pygentic_event_blobs (
    id text NOT NULL,
    payload text NOT NULL,
    created_at double precision NOT NULL
);


--
-- Name: run_steps; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.run_steps (
    seq integer NOT NULL,
    id character varying(64) NOT NULL,
    created_at bigint NOT NULL,
    thread_id character varying(64) NOT NULL,
    run_id character varying(64) NOT NULL,
    assistant_id character varying NOT NULL,
    type character varying NOT NULL,
    status character varying NOT NULL,
    step_details json NOT NULL,
    last_error json,
    expired_at bigint,
    cancelled_at bigint,
    failed_at bigint,
    completed_at bigint,
    metadata json NOT NULL,
    usage json
);


--
-- Name: run_steps_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.run_steps_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: run_steps_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.run_steps_seq_seq OWNED BY public.run_steps.seq;


--
-- Name: runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.runs (
    seq integer NOT NULL,
    id character varying(64) NOT NULL,
    created_at bigint NOT NULL,
    thread_id character varying(64) NOT NULL,
    assistant_id character varying NOT NULL,
    status character varying NOT NULL,
    required_action json,
    last_error json,
    expires_at bigint,
    started_at bigint,
    cancelled_at bigint,
    failed_at bigint,
    completed_at bigint,
    incomplete_details json,
    model character varying NOT NULL,
    instructions character varying NOT NULL,
    tools json NOT NULL,
    metadata json NOT NULL,
    usage json,
    temperature double precision,
    top_p double precision,
    max_prompt_tokens integer,
    max_completion_tokens integer,
    truncation_strategy json,
    tool_choice json,
    parallel_tool_calls boolean NOT NULL,
    response_format json,
    reasoning_effort character varying,
    include json,
    owner character varying(64),
    lease_expires_at double precision
);


--
-- Name: runs_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.runs_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: runs_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.runs_seq_seq OWNED BY public.runs.seq;


--
-- Name: threads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.threads (
    seq integer NOT NULL,
    id character varying(64) NOT NULL,
    created_at bigint NOT NULL,
    tool_resources json,
    metadata json NOT NULL
);


--
-- Name: threads_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.threads_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: threads_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.threads_seq_seq OWNED BY public.threads.seq;


--
-- Name: vector_store_file_batches; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.vector_store_file_batches (
    seq integer NOT NULL,
    id character varying(64) NOT NULL,
    vector_store_id character varying(64) NOT NULL,
    created_at bigint NOT NULL,
    cancelled_at bigint
);


--
-- Name: vector_store_file_batches_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.vector_store_file_batches_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: vector_store_file_batches_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.vector_store_file_batches_seq_seq OWNED BY public.vector_store_file_batches.seq;


--
-- Name: vector_store_files; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.vector_store_files (
    seq integer NOT NULL,
    id character varying(64) NOT NULL,
    vector_store_id character varying(64) NOT NULL,
    created_at bigint NOT NULL,
    status character varying(16) NOT NULL,
    usage_bytes bigint NOT NULL,
    last_error json,
    attributes json,
    chunking_strategy json,
    batch_id character varying(64),
    owner character varying(64),
    lease_expires_at double precision
);


--
-- Name: vector_store_files_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.vector_store_files_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: vector_store_files_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.vector_store_files_seq_seq OWNED BY public.vector_store_files.seq;


--
-- Name: vector_stores; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.vector_stores (
    seq integer NOT NULL,
    id character varying(64) NOT NULL,
    created_at bigint NOT NULL,
    name character varying NOT NULL,
    description character varying,
    metadata json NOT NULL,
    expires_after json,
    expires_at bigint,
    last_active_at bigint,
    chunks_version integer
);


--
-- Name: vector_stores_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.vector_stores_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: vector_stores_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.vector_stores_seq_seq OWNED BY public.vector_stores.seq;


--
-- Name: assistants seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.assistants ALTER COLUMN seq SET DEFAULT nextval('public.assistants_seq_seq'::regclass);


--
-- Name: chunks seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.chunks ALTER COLUMN seq SET DEFAULT nextval('public.chunks_seq_seq'::regclass);


--
-- Name: files seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.files ALTER COLUMN seq SET DEFAULT nextval('public.files_seq_seq'::regclass);


--
-- Name: messages seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages ALTER COLUMN seq SET DEFAULT nextval('public.messages_seq_seq'::regclass);


--
-- Name: run_steps seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.run_steps ALTER COLUMN seq SET DEFAULT nextval('public.run_steps_seq_seq'::regclass);


--
-- Name: runs seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs ALTER COLUMN seq SET DEFAULT nextval('public.runs_seq_seq'::regclass);


--
-- Name: threads seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.threads ALTER COLUMN seq SET DEFAULT nextval('public.threads_seq_seq'::regclass);


--
-- Name: vector_store_file_batches seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vector_store_file_batches ALTER COLUMN seq SET DEFAULT nextval('public.vector_store_file_batches_seq_seq'::regclass);


--
-- Name: vector_store_files seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vector_store_files ALTER COLUMN seq SET DEFAULT nextval('public.vector_store_files_seq_seq'::regclass);


--
-- Name: vector_stores seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vector_stores ALTER COLUMN seq SET DEFAULT nextval('public.vector_stores_seq_seq'::regclass);


--
-- Data for Name: assistants; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.assistants VALUES (1, 'asst_O60mFAUOwQzP1Oz9NCZ7rEK6', 1796175781, 'Fixture', NULL, 'echo', 'Be brief.', '[{"type": "function", "function": {"name": "get_weather", "parameters": {"properties": {"city": {"type": "string"}}, "type": "object"}}}]', 'null', '{"release": "prev"}', NULL, NULL, 'null', NULL);
INSERT INTO public.assistants VALUES (2, 'asst_pYgSHHvnD02umffC9vOOTNkY', 1796175781, NULL, NULL, 'tools', NULL, '[{"type": "function", "function": {"name": "get_weather", "parameters": {"properties": {"city": {"type": "string"}}, "type": "object"}}}]', 'null', '{}', NULL, NULL, 'null', NULL);


--
-- Data for Name: chunks; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.chunks VALUES (1, 'vs_NoZeaikcZ9XlHjV6ptPGTlcB', 'file-dzgA6VdbNuWgODqz8IgUhBOY', 0, 'Pygentic keeps every thread in its database. The capital of France is Paris.', 18, '\xb0e30e3dbd9d36bd02d811bd9dcf5cbd526fd63c138808bdca3ec7bcefcd29bd553ca33ba5f5123c7df9473c0139973cdb71da3cfa42a9bbad58f0bc37a745bcd1e16cbd73498ebd0bf2103dcf8d2fbd65f0533c980165bc809ccd3d14901d3d159c3c3c8afe01bd225fd7bc6ece333d05ef13bd5148c3bcf51f33bcec5c9e3c68afd5bc2bf35f3cc88f853d6ed7f63c6d8088bc7b6847bc2493123ded9cd63c64511f3d7b338abd0bf989bddc1e413c9d80b0bd0c9e4a3d6787433c8528953d01e7b13c79a18fbc56db2ebd3f96a83c231e9fbcd00f65bd9484b1bc4596993ddfb0a83dce994e3deae971bdf9ac1ebc289f6d3d07aa943ca784ebbd148fa43d16ea663de487f33cc6fb5c3c083bbd3d2b73333cdf80a0bd2b2181bdd0e447bcfca0a3bdc30cc13d25d0b33d3b1347bcf96c3bbdf5581cbd2f4df3bcf579073cf6bf0b3c0a7a27bdfed28d3deacf4f3db529cf3dc6f987bdaed7ab3d41f6e43c903da83d994694bdfc41173c39b952bc6fa64e3d60e7343da48493bc0180823d283645bc9e73403d19bc28bd33062b3d788aa8bc80b20ebd6495ba3d81d7f83c33e20bbd38e7723d5a9347bd02f234bc2c825ebcbafa0ebd5657e6bd877bb03c82cd613d61b151bd3408173dc5534d3dec84cb3cd835863dc712bfbce2176dbc1a290f3c2a18143c063197bd37fd9b3b1deb54bd7121063ddf853fbd5a54f588f8cbe93b5d90263dc13c143ee10c2bbde0fbbfbce811bb3c8e1f6bbd7031043d1d2421bcee279fbc2bca94bcae1f92bd3ed518bdaa47423df851663dfa10dfbc5d9db93d6d60003e1280c73c215f733dbd928a3d58556f3a1b5f743cde25bd3cdcd4173dc4d0773df8a47f3c70e88c3d057a293b2350013d072a95bd083045bd6b6673bdf75800bd5974ecbc1908eaba55fd9cbd3c40adbd2728d43c0df621bc9f8e23bc1481d0bc41a6c3bc25ca273dc51cfebcc6503f3d026ac0bd43ebb23c2c44a43d1264a63ce5db963d683c00bd956ddebd8e965b3cfd0d26bc199bac3df63e8bbc52ae82bb99615a3dd125b53ae39fac3dc958243d84be033ccadd073c46b1753d920dbc3dec58d23ce0c1823c1ed4443c3e91573d9d0bb3bd63c9213ddfeca73cac4c593dfa327d3b6b3d173d3cb34abdbf7060bd31e6ab3c64d1143baee3efbcaa0458bd0ae08ebdc6498c3bcd3cfabc023a60bdf86d813d96585abddf8b86bc3c57a8bca33dafbddb6dc3bd00ac883c606f083d7ca2f6bd07fff307d555c9bcac1f91bd846284bdd26a723ca7545e3b93fa9a3cf169623bef169b3c9eeba7bd46ac153d86639cbb3d7005be9ee9d9bbb798bd3b27f6c93d9ff4063e0cc3df3dfe8695bc4a9caebd2500193d872353bdc115943b93a1a0bd9be2583c02f91cbd118523bd3dd6d8bce7d292bddebfd1bb64bfa2bcf002ecbd1f9d8fbb4804a9bd5ce7e13caf7147bd5fbba43d8126b2bced27d239a063263dfd885b3d428ce13c8eb31b3d942cb9bc9422803de5e582bc7a76bc3c0d1a15bedfc8f8bb0a1122bd3ea879babd321d3c130a823db500ed3c35cb99bd29d4903cbb4ebd3d183f01bdb19f163d5c64a5bd930eaebdc6ef4abd57a00bbc7cb6e9bd8de3813d7336573d874259bd1b1368bdb8041f3d05660bbdccd413bd211c2a3e1805283d848713bd64f40a3da1a164bd4277883d810a03bc5f3cf33b03804bbdab90383dcef0d73c4c6b163db40c663cef99143c62912bbd9480143a1b2dbe3cfc716abd9448d83de6ef0bbcc3809a3c7ebd783b7d6763bdf09ab23ccc8a9a3de32aaab2e2739f3d3f7d533cc3e3ec3ccebf7e3d0482023cc7c9bbbdb51d903c398ba53df3caa6bc1750973da70fc2bc1fa94e3b1518f0bc78ee73bcafccf2bc45f9d43cbb680c3d2207e43c74bc13bdb2dfaebcaefee1bb68811c3dcdc26fbd17d0efb73d2e553c00671abd37dafe3b4c0aa53cf24f3dbd82b24cbce0cb5e3d08908cbdafabf9bc34a593bd11bd39bc0d2ea93d375f16bdef3cf8bcc34250bd92171cbde07d84bb27dbc1bc84ae9f3dcca6ce3cbfa1c93dc54eb03c6a3b8dbce2d78cbd26efac3d1a5d2ebd29a28abdd09c413d5989abbb96af023dfb32f9bb6e77413d10117dbd9122763c37ff4cbc2ad15bbcaa2b9cbcf2f0543de976ac3d22f170bd');


--
-- Data for Name: files; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.files VALUES (1, 'file-dzgA6VdbNuWgODqz8IgUhBOY', 1796175781, 'fixture.txt', 'assistants', 77, 'processed', NULL);


--
-- Data for Name: messages; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.messages VALUES (1, 'msg_pSM1JYgYIDHORfY2dFCDvFVV', 1796175781, 'thread_ND0AZqH3UoeVJqYP8kw2NKAw', 'completed', 'user', '[{"type": "text", "text": {"value": "Hello fixture", "annotations": []}}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}]', NULL, NULL, '[]', '{}', 'null', NULL, NULL);
INSERT INTO public.messages VALUES (2, 'msg_L2bvsAXoapjBTrEkzq1V2WXO', 1796175781, 'thread_ND0AZqH3UoeVJqYP8kw2NKAw', 'completed', 'assistant', '[{"type": "text", "text": {"value": "Echo: Hello fixture\n[image: https://example.com/a.png]", "annotations": []}}]', 'asst_O60mFAUOwQzP1Oz9NCZ7rEK6', 'run_gmlIX2rFY0CHMynAHpfOEFDg', '[]', '{}', 'null', 1796175781, NULL);
INSERT INTO public.messages VALUES (3, 'msg_Pfphe9qy4SKs4KrWppxBnJgI', 1796175781, 'thread_fr8OETV1dbr39BTpTC7iMwDX', 'completed', 'user', '[{"type": "text", "text": {"value": "Weather?", "annotations": []}}]', NULL, NULL, '[]', '{}', 'null', NULL, NULL);


--
-- Data for Name: pygentic_event_blobs; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: run_steps; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.run_steps VALUES (1, 'step_sdYoJBZP97q3BMP00czV68iY', 1796175781, 'thread_ND0AZqH3UoeVJqYP8kw2NKAw', 'run_gmlIX2rFY0CHMynAHpfOEFDg', 'asst_O60mFAUOwQzP1Oz9NCZ7rEK6', 'message_creation', 'completed', '{"type": "message_creation", "message_creation": {"message_id": "msg_L2bvsAXoapjBTrEkzq1V2WXO"}}', 'null', NULL, NULL, NULL, 1796175781, '{}', 'null');
INSERT INTO public.run_steps VALUES (2, 'step_kSY4f4Zitk33t4hb7aImMhUh', 1796175781, 'thread_fr8OETV1dbr39BTpTC7iMwDX', 'run_o9byCAaG4SapXNZJOxAZ3JmL', 'asst_pYgSHHvnD02umffC9vOOTNkY', 'tool_calls', 'in_progress', '{"type": "tool_calls", "tool_calls": [{"id": "call_fake0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}", "output": null}}]}', 'null', NULL, NULL, NULL, NULL, '{}', 'null');


--
-- Data for Name: runs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.runs VALUES (1, 'run_gmlIX2rFY0CHMynAHpfOEFDg', 1796175781, 'thread_ND0AZqH3UoeVJqYP8kw2NKAw', 'asst_O60mFAUOwQzP1Oz9NCZ7rEK6', 'completed', 'null', 'null', 1796176381, 1796175781, NULL, NULL, 1796175781, 'null', 'echo', 'Be brief.', '[{"type": "function", "function": {"name": "get_weather", "parameters": {"properties": {"city": {"type": "string"}}, "type": "object"}}}]', '{}', '{"prompt_tokens": 22, "completion_tokens": 4, "total_tokens": 26}', NULL, NULL, NULL, NULL, '{"type": "auto", "last_messages": null}', '"auto"', true, '"auto"', NULL, 'null', NULL, NULL);
INSERT INTO public.runs VALUES (2, 'run_o9byCAaG4SapXNZJOxAZ3JmL', 1796175781, 'thread_fr8OETV1dbr39BTpTC7iMwDX', 'asst_pYgSHHvnD02umffC9vOOTNkY', 'requires_action', '{"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [{"id": "call_fake0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}}', 'null', 1796176381, 1796175781, NULL, NULL, NULL, 'null', 'tools', '', '[{"type": "function", "function": {"name": "get_weather", "parameters": {"properties": {"city": {"type": "string"}}, "type": "object"}}}]', '{}', '{"prompt_tokens": 6, "completion_tokens": 10, "total_tokens": 16}', NULL, NULL, NULL, NULL, '{"type": "auto", "last_messages": null}', '"auto"', true, '"auto"', NULL, 'null', NULL, NULL);


--
-- Data for Name: threads; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.threads VALUES (1, 'thread_ND0AZqH3UoeVJqYP8kw2NKAw', 1796175781, 'null', '{"kind": "fixture"}');
INSERT INTO public.threads VALUES (2, 'thread_fr8OETV1dbr39BTpTC7iMwDX', 1796175781, 'null', '{}');


--
-- Data for Name: vector_store_file_batches; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: vector_store_files; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.vector_store_files VALUES (1, 'file-dzgA6VdbNuWgODqz8IgUhBOY', 'vs_NoZeaikcZ9XlHjV6ptPGTlcB', 1796175781, 'completed', 1612, 'null', 'null', '{"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}', NULL, NULL, NULL);


--
-- Data for Name: vector_stores; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.vector_stores VALUES (1, 'vs_NoZeaikcZ9XlHjV6ptPGTlcB', 1796175781, 'fixture store', NULL, '{}', 'null', NULL, 1796175781, 1);


--
-- Name: assistants_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.assistants_seq_seq', 2, true);


--
-- Name: chunks_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.chunks_seq_seq', 1, true);


--
-- Name: files_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.files_seq_seq', 1, true);


--
-- Name: messages_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.messages_seq_seq', 3, true);


--
-- Name: run_steps_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.run_steps_seq_seq', 2, true);


--
-- Name: runs_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.runs_seq_seq', 2, true);


--
-- Name: threads_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.threads_seq_seq', 2, true);


--
-- Name: vector_store_file_batches_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.vector_store_file_batches_seq_seq', 1, false);


--
-- Name: vector_store_files_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.vector_store_files_seq_seq', 1, true);


--
-- Name: vector_stores_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.vector_stores_seq_seq', 1, true);


--
-- Name: assistants assistants_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.assistants
    ADD CONSTRAINT assistants_pkey PRIMARY KEY (seq);


--
-- Name: chunks chunks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.chunks
    ADD CONSTRAINT chunks_pkey PRIMARY KEY (seq);


--
-- Name: files files_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.files
    ADD CONSTRAINT files_pkey PRIMARY KEY (seq);


--
-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (seq);


--
-- Name: pygentic_event_blobs pygentic_event_blobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pygentic_event_blobs
    ADD CONSTRAINT pygentic_event_blobs_pkey PRIMARY KEY (id);


--
-- Name: run_steps run_steps_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.run_steps
    ADD CONSTRAINT run_steps_pkey PRIMARY KEY (seq);


--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (seq);


--
-- Name: threads threads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.threads
    ADD CONSTRAINT threads_pkey PRIMARY KEY (seq);


--
-- Name: vector_store_files uq_vector_store_file; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vector_store_files
    ADD CONSTRAINT uq_vector_store_file UNIQUE (vector_store_id, id);


--
-- Name: vector_store_file_batches vector_store_file_batches_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vector_store_file_batches
    ADD CONSTRAINT vector_store_file_batches_pkey PRIMARY KEY (seq);


--
-- Name: vector_store_files vector_store_files_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vector_store_files
    ADD CONSTRAINT vector_store_files_pkey PRIMARY KEY (seq);


--
-- Name: vector_stores vector_stores_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vector_stores
    ADD CONSTRAINT vector_stores_pkey PRIMARY KEY (seq);


--
-- Name: ix_assistants_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_assistants_created_at ON public.assistants USING btree (created_at);


--
-- Name: ix_assistants_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_assistants_id ON public.assistants USING btree (id);


--
-- Name: ix_chunks_file_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_chunks_file_id ON public.chunks USING btree (file_id);


--
-- Name: ix_chunks_vector_store_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_chunks_vector_store_id ON public.chunks USING btree (vector_store_id);


--
-- Name: ix_files_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_files_created_at ON public.files USING btree (created_at);


--
-- Name: ix_files_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_files_id ON public.files USING btree (id);


--
-- Name: ix_files_purpose; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_files_purpose ON public.files USING btree (purpose);


--
-- Name: ix_messages_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_messages_created_at ON public.messages USING btree (created_at);


--
-- Name: ix_messages_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_messages_id ON public.messages USING btree (id);


--
-- Name: ix_messages_run_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_messages_run_id ON public.messages USING btree (run_id);


--
-- Name: ix_messages_thread_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_messages_thread_id ON public.messages USING btree (thread_id);


--
-- Name: ix_run_steps_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_run_steps_created_at ON public.run_steps USING btree (created_at);


--
-- Name: ix_run_steps_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_run_steps_id ON public.run_steps USING btree (id);


--
-- Name: ix_run_steps_run_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_run_steps_run_id ON public.run_steps USING btree (run_id);


--
-- Name: ix_run_steps_thread_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_run_steps_thread_id ON public.run_steps USING btree (thread_id);


--
-- Name: ix_runs_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_runs_created_at ON public.runs USING btree (created_at);


--
-- Name: ix_runs_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_runs_id ON public.runs USING btree (id);


--
-- Name: ix_runs_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_runs_status ON public.runs USING btree (status);


--
-- Name: ix_runs_thread_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_runs_thread_id ON public.runs USING btree (thread_id);


--
-- Name: ix_threads_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_threads_created_at ON public.threads USING btree (created_at);


--
-- Name: ix_threads_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_threads_id ON public.threads USING btree (id);


--
-- Name: ix_vector_store_file_batches_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_vector_store_file_batches_created_at ON public.vector_store_file_batches USING btree (created_at);


--
-- Name: ix_vector_store_file_batches_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_vector_store_file_batches_id ON public.vector_store_file_batches USING btree (id);


--
-- Name: ix_vector_store_file_batches_vector_store_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_vector_store_file_batches_vector_store_id ON public.vector_store_file_batches USING btree (vector_store_id);


--
-- Name: ix_vector_store_files_batch_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_vector_store_files_batch_id ON public.vector_store_files USING btree (batch_id);


--
-- Name: ix_vector_store_files_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_vector_store_files_created_at ON public.vector_store_files USING btree (created_at);


--
-- Name: ix_vector_store_files_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_vector_store_files_id ON public.vector_store_files USING btree (id);


--
-- Name: ix_vector_store_files_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_vector_store_files_status ON public.vector_store_files USING btree (status);


--
-- Name: ix_vector_store_files_vector_store_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_vector_store_files_vector_store_id ON public.vector_store_files USING btree (vector_store_id);


--
-- Name: ix_vector_stores_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_vector_stores_created_at ON public.vector_stores USING btree (created_at);


--
-- Name: ix_vector_stores_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_vector_stores_id ON public.vector_stores USING btree (id);


--
-- PostgreSQL database dump complete
--


