from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FunctionDefinition(_message.Message):
    __slots__ = ("name", "description", "parameters", "strict")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters: _struct_pb2.Struct
    strict: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., strict: _Optional[bool] = ...) -> None: ...

class HybridSearchWeights(_message.Message):
    __slots__ = ("embedding_weight", "text_weight")
    EMBEDDING_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    TEXT_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    embedding_weight: float
    text_weight: float
    def __init__(self, embedding_weight: _Optional[float] = ..., text_weight: _Optional[float] = ...) -> None: ...

class FileSearchRankingOptions(_message.Message):
    __slots__ = ("ranker", "score_threshold", "hybrid_search")
    RANKER_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    HYBRID_SEARCH_FIELD_NUMBER: _ClassVar[int]
    ranker: str
    score_threshold: float
    hybrid_search: HybridSearchWeights
    def __init__(self, ranker: _Optional[str] = ..., score_threshold: _Optional[float] = ..., hybrid_search: _Optional[_Union[HybridSearchWeights, _Mapping]] = ...) -> None: ...

class FileSearchToolOptions(_message.Message):
    __slots__ = ("max_num_results", "ranking_options")
    MAX_NUM_RESULTS_FIELD_NUMBER: _ClassVar[int]
    RANKING_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    max_num_results: int
    ranking_options: FileSearchRankingOptions
    def __init__(self, max_num_results: _Optional[int] = ..., ranking_options: _Optional[_Union[FileSearchRankingOptions, _Mapping]] = ...) -> None: ...

class Tool(_message.Message):
    __slots__ = ("type", "function", "file_search")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_FIELD_NUMBER: _ClassVar[int]
    type: str
    function: FunctionDefinition
    file_search: FileSearchToolOptions
    def __init__(self, type: _Optional[str] = ..., function: _Optional[_Union[FunctionDefinition, _Mapping]] = ..., file_search: _Optional[_Union[FileSearchToolOptions, _Mapping]] = ...) -> None: ...

class CodeInterpreterResources(_message.Message):
    __slots__ = ("file_ids",)
    FILE_IDS_FIELD_NUMBER: _ClassVar[int]
    file_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, file_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class FileSearchResources(_message.Message):
    __slots__ = ("vector_store_ids",)
    VECTOR_STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    vector_store_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, vector_store_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ToolResources(_message.Message):
    __slots__ = ("code_interpreter", "file_search")
    CODE_INTERPRETER_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_FIELD_NUMBER: _ClassVar[int]
    code_interpreter: CodeInterpreterResources
    file_search: FileSearchResources
    def __init__(self, code_interpreter: _Optional[_Union[CodeInterpreterResources, _Mapping]] = ..., file_search: _Optional[_Union[FileSearchResources, _Mapping]] = ...) -> None: ...

class VectorStoreHelper(_message.Message):
    __slots__ = ("file_ids", "chunking_strategy", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FILE_IDS_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    file_ids: _containers.RepeatedScalarFieldContainer[str]
    chunking_strategy: _struct_pb2.Value
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, file_ids: _Optional[_Iterable[str]] = ..., chunking_strategy: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class FileSearchResourcesInput(_message.Message):
    __slots__ = ("vector_store_ids", "vector_stores")
    VECTOR_STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    VECTOR_STORES_FIELD_NUMBER: _ClassVar[int]
    vector_store_ids: _containers.RepeatedScalarFieldContainer[str]
    vector_stores: _containers.RepeatedCompositeFieldContainer[VectorStoreHelper]
    def __init__(self, vector_store_ids: _Optional[_Iterable[str]] = ..., vector_stores: _Optional[_Iterable[_Union[VectorStoreHelper, _Mapping]]] = ...) -> None: ...

class ToolResourcesInput(_message.Message):
    __slots__ = ("code_interpreter", "file_search")
    CODE_INTERPRETER_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_FIELD_NUMBER: _ClassVar[int]
    code_interpreter: CodeInterpreterResources
    file_search: FileSearchResourcesInput
    def __init__(self, code_interpreter: _Optional[_Union[CodeInterpreterResources, _Mapping]] = ..., file_search: _Optional[_Union[FileSearchResourcesInput, _Mapping]] = ...) -> None: ...

class Assistant(_message.Message):
    __slots__ = ("id", "object", "created_at", "name", "description", "model", "instructions", "tools", "tool_resources", "metadata", "temperature", "top_p", "response_format")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    name: str
    description: str
    model: str
    instructions: str
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    tool_resources: ToolResources
    metadata: _containers.ScalarMap[str, str]
    temperature: float
    top_p: float
    response_format: _struct_pb2.Value
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., model: _Optional[str] = ..., instructions: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ..., tool_resources: _Optional[_Union[ToolResources, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., response_format: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class File(_message.Message):
    __slots__ = ("id", "object", "bytes", "created_at", "filename", "purpose", "status", "expires_at", "status_details")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_DETAILS_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: str
    expires_at: int
    status_details: str
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., bytes: _Optional[int] = ..., created_at: _Optional[int] = ..., filename: _Optional[str] = ..., purpose: _Optional[str] = ..., status: _Optional[str] = ..., expires_at: _Optional[int] = ..., status_details: _Optional[str] = ...) -> None: ...

class VectorStoreFileCounts(_message.Message):
    __slots__ = ("in_progress", "completed", "failed", "cancelled", "total")
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    in_progress: int
    completed: int
    failed: int
    cancelled: int
    total: int
    def __init__(self, in_progress: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class VectorStoreExpiresAfter(_message.Message):
    __slots__ = ("anchor", "days")
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    anchor: str
    days: int
    def __init__(self, anchor: _Optional[str] = ..., days: _Optional[int] = ...) -> None: ...

class VectorStore(_message.Message):
    __slots__ = ("id", "object", "created_at", "name", "usage_bytes", "file_counts", "status", "expires_after", "expires_at", "last_active_at", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AFTER_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    name: str
    usage_bytes: int
    file_counts: VectorStoreFileCounts
    status: str
    expires_after: VectorStoreExpiresAfter
    expires_at: int
    last_active_at: int
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., name: _Optional[str] = ..., usage_bytes: _Optional[int] = ..., file_counts: _Optional[_Union[VectorStoreFileCounts, _Mapping]] = ..., status: _Optional[str] = ..., expires_after: _Optional[_Union[VectorStoreExpiresAfter, _Mapping]] = ..., expires_at: _Optional[int] = ..., last_active_at: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class VectorStoreFileError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class VectorStoreFile(_message.Message):
    __slots__ = ("id", "object", "created_at", "vector_store_id", "status", "usage_bytes", "last_error", "attributes", "chunking_strategy")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    vector_store_id: str
    status: str
    usage_bytes: int
    last_error: VectorStoreFileError
    attributes: _struct_pb2.Struct
    chunking_strategy: _struct_pb2.Value
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., vector_store_id: _Optional[str] = ..., status: _Optional[str] = ..., usage_bytes: _Optional[int] = ..., last_error: _Optional[_Union[VectorStoreFileError, _Mapping]] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., chunking_strategy: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class VectorStoreFileBatch(_message.Message):
    __slots__ = ("id", "object", "created_at", "vector_store_id", "status", "file_counts")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    vector_store_id: str
    status: str
    file_counts: VectorStoreFileCounts
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., vector_store_id: _Optional[str] = ..., status: _Optional[str] = ..., file_counts: _Optional[_Union[VectorStoreFileCounts, _Mapping]] = ...) -> None: ...

class VectorStoreSearchContent(_message.Message):
    __slots__ = ("type", "text")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    type: str
    text: str
    def __init__(self, type: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class VectorStoreSearchResult(_message.Message):
    __slots__ = ("file_id", "filename", "score", "attributes", "content")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    filename: str
    score: float
    attributes: _struct_pb2.Struct
    content: _containers.RepeatedCompositeFieldContainer[VectorStoreSearchContent]
    def __init__(self, file_id: _Optional[str] = ..., filename: _Optional[str] = ..., score: _Optional[float] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., content: _Optional[_Iterable[_Union[VectorStoreSearchContent, _Mapping]]] = ...) -> None: ...

class Thread(_message.Message):
    __slots__ = ("id", "object", "created_at", "tool_resources", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    TOOL_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    tool_resources: ToolResources
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., tool_resources: _Optional[_Union[ToolResources, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AttachmentTool(_message.Message):
    __slots__ = ("type",)
    TYPE_FIELD_NUMBER: _ClassVar[int]
    type: str
    def __init__(self, type: _Optional[str] = ...) -> None: ...

class Attachment(_message.Message):
    __slots__ = ("file_id", "tools")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    tools: _containers.RepeatedCompositeFieldContainer[AttachmentTool]
    def __init__(self, file_id: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[AttachmentTool, _Mapping]]] = ...) -> None: ...

class FileCitation(_message.Message):
    __slots__ = ("file_id", "quote")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    quote: str
    def __init__(self, file_id: _Optional[str] = ..., quote: _Optional[str] = ...) -> None: ...

class FilePath(_message.Message):
    __slots__ = ("file_id",)
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    def __init__(self, file_id: _Optional[str] = ...) -> None: ...

class Annotation(_message.Message):
    __slots__ = ("index", "type", "text", "start_index", "end_index", "file_citation", "file_path")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    END_INDEX_FIELD_NUMBER: _ClassVar[int]
    FILE_CITATION_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    index: int
    type: str
    text: str
    start_index: int
    end_index: int
    file_citation: FileCitation
    file_path: FilePath
    def __init__(self, index: _Optional[int] = ..., type: _Optional[str] = ..., text: _Optional[str] = ..., start_index: _Optional[int] = ..., end_index: _Optional[int] = ..., file_citation: _Optional[_Union[FileCitation, _Mapping]] = ..., file_path: _Optional[_Union[FilePath, _Mapping]] = ...) -> None: ...

class Text(_message.Message):
    __slots__ = ("value", "annotations")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    value: str
    annotations: _containers.RepeatedCompositeFieldContainer[Annotation]
    def __init__(self, value: _Optional[str] = ..., annotations: _Optional[_Iterable[_Union[Annotation, _Mapping]]] = ...) -> None: ...

class ImageFile(_message.Message):
    __slots__ = ("file_id", "detail")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    detail: str
    def __init__(self, file_id: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class ImageUrl(_message.Message):
    __slots__ = ("url", "detail")
    URL_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    url: str
    detail: str
    def __init__(self, url: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class MessageContent(_message.Message):
    __slots__ = ("type", "text", "image_file", "image_url", "refusal")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FILE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    type: str
    text: Text
    image_file: ImageFile
    image_url: ImageUrl
    refusal: str
    def __init__(self, type: _Optional[str] = ..., text: _Optional[_Union[Text, _Mapping]] = ..., image_file: _Optional[_Union[ImageFile, _Mapping]] = ..., image_url: _Optional[_Union[ImageUrl, _Mapping]] = ..., refusal: _Optional[str] = ...) -> None: ...

class IncompleteDetails(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "object", "created_at", "thread_id", "status", "incomplete_details", "completed_at", "incomplete_at", "role", "content", "assistant_id", "run_id", "attachments", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INCOMPLETE_DETAILS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    INCOMPLETE_AT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    thread_id: str
    status: str
    incomplete_details: IncompleteDetails
    completed_at: int
    incomplete_at: int
    role: str
    content: _containers.RepeatedCompositeFieldContainer[MessageContent]
    assistant_id: str
    run_id: str
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., thread_id: _Optional[str] = ..., status: _Optional[str] = ..., incomplete_details: _Optional[_Union[IncompleteDetails, _Mapping]] = ..., completed_at: _Optional[int] = ..., incomplete_at: _Optional[int] = ..., role: _Optional[str] = ..., content: _Optional[_Iterable[_Union[MessageContent, _Mapping]]] = ..., assistant_id: _Optional[str] = ..., run_id: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MessageInput(_message.Message):
    __slots__ = ("role", "content", "attachments", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: _struct_pb2.Value
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, role: _Optional[str] = ..., content: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class LastError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens", "total_tokens")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ...) -> None: ...

class TruncationStrategy(_message.Message):
    __slots__ = ("type", "last_messages")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    type: str
    last_messages: int
    def __init__(self, type: _Optional[str] = ..., last_messages: _Optional[int] = ...) -> None: ...

class FunctionCall(_message.Message):
    __slots__ = ("name", "arguments", "output")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    name: str
    arguments: str
    output: str
    def __init__(self, name: _Optional[str] = ..., arguments: _Optional[str] = ..., output: _Optional[str] = ...) -> None: ...

class CodeInterpreterImage(_message.Message):
    __slots__ = ("file_id",)
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    def __init__(self, file_id: _Optional[str] = ...) -> None: ...

class CodeInterpreterOutput(_message.Message):
    __slots__ = ("index", "type", "logs", "image")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    type: str
    logs: str
    image: CodeInterpreterImage
    def __init__(self, index: _Optional[int] = ..., type: _Optional[str] = ..., logs: _Optional[str] = ..., image: _Optional[_Union[CodeInterpreterImage, _Mapping]] = ...) -> None: ...

class CodeInterpreterCall(_message.Message):
    __slots__ = ("input", "outputs")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    input: str
    outputs: _containers.RepeatedCompositeFieldContainer[CodeInterpreterOutput]
    def __init__(self, input: _Optional[str] = ..., outputs: _Optional[_Iterable[_Union[CodeInterpreterOutput, _Mapping]]] = ...) -> None: ...

class FileSearchResultContent(_message.Message):
    __slots__ = ("type", "text")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    type: str
    text: str
    def __init__(self, type: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class FileSearchResult(_message.Message):
    __slots__ = ("file_id", "file_name", "score", "content")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    file_name: str
    score: float
    content: _containers.RepeatedCompositeFieldContainer[FileSearchResultContent]
    def __init__(self, file_id: _Optional[str] = ..., file_name: _Optional[str] = ..., score: _Optional[float] = ..., content: _Optional[_Iterable[_Union[FileSearchResultContent, _Mapping]]] = ...) -> None: ...

class FileSearchCall(_message.Message):
    __slots__ = ("ranking_options", "results")
    RANKING_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ranking_options: FileSearchRankingOptions
    results: _containers.RepeatedCompositeFieldContainer[FileSearchResult]
    def __init__(self, ranking_options: _Optional[_Union[FileSearchRankingOptions, _Mapping]] = ..., results: _Optional[_Iterable[_Union[FileSearchResult, _Mapping]]] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("index", "id", "type", "function", "code_interpreter", "file_search")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    CODE_INTERPRETER_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_FIELD_NUMBER: _ClassVar[int]
    index: int
    id: str
    type: str
    function: FunctionCall
    code_interpreter: CodeInterpreterCall
    file_search: FileSearchCall
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., type: _Optional[str] = ..., function: _Optional[_Union[FunctionCall, _Mapping]] = ..., code_interpreter: _Optional[_Union[CodeInterpreterCall, _Mapping]] = ..., file_search: _Optional[_Union[FileSearchCall, _Mapping]] = ...) -> None: ...

class SubmitToolOutputsAction(_message.Message):
    __slots__ = ("tool_calls",)
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    def __init__(self, tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ...) -> None: ...

class RequiredAction(_message.Message):
    __slots__ = ("type", "submit_tool_outputs")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_TOOL_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    type: str
    submit_tool_outputs: SubmitToolOutputsAction
    def __init__(self, type: _Optional[str] = ..., submit_tool_outputs: _Optional[_Union[SubmitToolOutputsAction, _Mapping]] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("id", "object", "created_at", "thread_id", "assistant_id", "status", "required_action", "last_error", "expires_at", "started_at", "cancelled_at", "failed_at", "completed_at", "incomplete_details", "model", "instructions", "tools", "metadata", "usage", "temperature", "top_p", "max_prompt_tokens", "max_completion_tokens", "truncation_strategy", "tool_choice", "parallel_tool_calls", "response_format")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ACTION_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    FAILED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    INCOMPLETE_DETAILS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    MAX_PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATION_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    thread_id: str
    assistant_id: str
    status: str
    required_action: RequiredAction
    last_error: LastError
    expires_at: int
    started_at: int
    cancelled_at: int
    failed_at: int
    completed_at: int
    incomplete_details: IncompleteDetails
    model: str
    instructions: str
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    metadata: _containers.ScalarMap[str, str]
    usage: Usage
    temperature: float
    top_p: float
    max_prompt_tokens: int
    max_completion_tokens: int
    truncation_strategy: TruncationStrategy
    tool_choice: _struct_pb2.Value
    parallel_tool_calls: bool
    response_format: _struct_pb2.Value
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., thread_id: _Optional[str] = ..., assistant_id: _Optional[str] = ..., status: _Optional[str] = ..., required_action: _Optional[_Union[RequiredAction, _Mapping]] = ..., last_error: _Optional[_Union[LastError, _Mapping]] = ..., expires_at: _Optional[int] = ..., started_at: _Optional[int] = ..., cancelled_at: _Optional[int] = ..., failed_at: _Optional[int] = ..., completed_at: _Optional[int] = ..., incomplete_details: _Optional[_Union[IncompleteDetails, _Mapping]] = ..., model: _Optional[str] = ..., instructions: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., max_prompt_tokens: _Optional[int] = ..., max_completion_tokens: _Optional[int] = ..., truncation_strategy: _Optional[_Union[TruncationStrategy, _Mapping]] = ..., tool_choice: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., parallel_tool_calls: _Optional[bool] = ..., response_format: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class MessageCreation(_message.Message):
    __slots__ = ("message_id",)
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    def __init__(self, message_id: _Optional[str] = ...) -> None: ...

class StepDetails(_message.Message):
    __slots__ = ("type", "message_creation", "tool_calls")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_CREATION_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    type: str
    message_creation: MessageCreation
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    def __init__(self, type: _Optional[str] = ..., message_creation: _Optional[_Union[MessageCreation, _Mapping]] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ...) -> None: ...

class RunStep(_message.Message):
    __slots__ = ("id", "object", "created_at", "assistant_id", "thread_id", "run_id", "type", "status", "step_details", "last_error", "expired_at", "cancelled_at", "failed_at", "completed_at", "metadata", "usage")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_ID_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STEP_DETAILS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    FAILED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    assistant_id: str
    thread_id: str
    run_id: str
    type: str
    status: str
    step_details: StepDetails
    last_error: LastError
    expired_at: int
    cancelled_at: int
    failed_at: int
    completed_at: int
    metadata: _containers.ScalarMap[str, str]
    usage: Usage
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., assistant_id: _Optional[str] = ..., thread_id: _Optional[str] = ..., run_id: _Optional[str] = ..., type: _Optional[str] = ..., status: _Optional[str] = ..., step_details: _Optional[_Union[StepDetails, _Mapping]] = ..., last_error: _Optional[_Union[LastError, _Mapping]] = ..., expired_at: _Optional[int] = ..., cancelled_at: _Optional[int] = ..., failed_at: _Optional[int] = ..., completed_at: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ...) -> None: ...

class MessageDeltaContent(_message.Message):
    __slots__ = ("index", "type", "text", "image_file", "image_url", "refusal")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FILE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    index: int
    type: str
    text: Text
    image_file: ImageFile
    image_url: ImageUrl
    refusal: str
    def __init__(self, index: _Optional[int] = ..., type: _Optional[str] = ..., text: _Optional[_Union[Text, _Mapping]] = ..., image_file: _Optional[_Union[ImageFile, _Mapping]] = ..., image_url: _Optional[_Union[ImageUrl, _Mapping]] = ..., refusal: _Optional[str] = ...) -> None: ...

class MessageDeltaBody(_message.Message):
    __slots__ = ("role", "content")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: _containers.RepeatedCompositeFieldContainer[MessageDeltaContent]
    def __init__(self, role: _Optional[str] = ..., content: _Optional[_Iterable[_Union[MessageDeltaContent, _Mapping]]] = ...) -> None: ...

class MessageDelta(_message.Message):
    __slots__ = ("id", "object", "delta")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    delta: MessageDeltaBody
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., delta: _Optional[_Union[MessageDeltaBody, _Mapping]] = ...) -> None: ...

class RunStepDeltaBody(_message.Message):
    __slots__ = ("step_details",)
    STEP_DETAILS_FIELD_NUMBER: _ClassVar[int]
    step_details: StepDetails
    def __init__(self, step_details: _Optional[_Union[StepDetails, _Mapping]] = ...) -> None: ...

class RunStepDelta(_message.Message):
    __slots__ = ("id", "object", "delta")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    delta: RunStepDeltaBody
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., delta: _Optional[_Union[RunStepDeltaBody, _Mapping]] = ...) -> None: ...

class ErrorEvent(_message.Message):
    __slots__ = ("message", "type", "param", "code")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    message: str
    type: str
    param: str
    code: str
    def __init__(self, message: _Optional[str] = ..., type: _Optional[str] = ..., param: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...
