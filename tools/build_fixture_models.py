"""Build the tiny random-weight Argos Translate packages the tests and benchmarks use.

Run ``python tools/build_fixture_models.py [OUTPUT_DIR]`` (default ``tests/fixtures/models``).
"""

# What a test may rely on, and nothing else:
# - Each file is a real ``.argosmodel`` zip: ``metadata.json`` (package_version 0.0.1), a
#   CTranslate2 int8 Transformer under ``model/`` made with ``ctranslate2.specs``, and a
#   ``sentencepiece.model`` trained here on a few Arabic and English sentences. They install
#   with argostranslate 1.11 (its ``install_from_path`` or our ``install_models``) and
#   translate offline in milliseconds, once the translation object has an offline sentence
#   splitter (argos 1.11 fetches one online otherwise; see bot/services/translation.py).
# - The output says which direction ran and nothing more: every sentence becomes one fixed
#   word, ``english`` for ar→en and ``عربي`` for en→ar, joined by spaces within a paragraph
#   (``"Hello. Bye."`` → ``"عربي عربي"``), paragraphs kept. It is not a translation: never
#   show it to a person as one.
# How: every matrix is drawn from a seeded normal distribution (std 0.02; layer norms start
# at the identity), then the decoder's start-token and marker embeddings and their
# output-projection rows are made large, so the decoder says the marker after the start token
# and end-of-sentence after the marker whatever the input; that margin keeps the output fixed
# across CPUs and int8 rounding. Only ctranslate2, sentencepiece and numpy are needed (all
# come with argostranslate); no training framework. Same library versions give the same bytes
# (seeded, zip timestamps fixed).

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "tests" / "fixtures" / "models"
PACKAGE_VERSION = "0.0.1"
ARGOS_VERSION = "1.11.0"
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
SPM_SEED = 7

# Model size: one encoder and one decoder layer, 32 dimensions, 2 heads.
D_MODEL = 32
FFN = 64
HEADS = 2
INIT_STD = 0.02
# Strength of the designed path; random contributions stay two orders of magnitude smaller.
EMBED_SPIKE = 2.0
LOGIT_SPIKE = 10.0
START_DIM, MARKER_DIM = 0, 1

# A few sentences like the service's messages, in both languages; the markers repeat so
# SentencePiece keeps each one as a single piece.
CORPUS_EN = [
    "Hello, how are you?",
    "The heating is broken and the children are cold.",
    "Please call the council about the housing appointment tomorrow morning.",
    "My appointment at the hospital is on Monday.",
    "Thank you for your help with the school forms.",
    "We need help with Universal Credit and the rent.",
    "Can someone visit us this week?",
    "The doctor asked for the letter from the job centre.",
]
CORPUS_AR = [
    "مرحبا، كيف حالك؟",
    "المدفأة معطلة والأطفال يشعرون بالبرد.",
    "أرجو الاتصال بالمجلس بخصوص موعد السكن صباح الغد.",
    "موعدي في المستشفى يوم الاثنين.",
    "شكرا لمساعدتكم في استمارات المدرسة.",
    "نحتاج مساعدة في الائتمان الشامل والإيجار.",
    "هل يمكن لأحد أن يزورنا هذا الأسبوع؟",
    "طلب الطبيب الرسالة من مركز التوظيف.",
]


@dataclass(frozen=True)
class Direction:
    """One package to build: language codes and names, the output word and the RNG seed."""

    from_code: str
    from_name: str
    to_code: str
    to_name: str
    marker: str
    seed: int

    @property
    def file_name(self) -> str:
        """Return the package file name, e.g. ``translate-ar_en-tiny-random.argosmodel``."""
        return f"translate-{self.from_code}_{self.to_code}-tiny-random.argosmodel"


AR_EN = Direction("ar", "Arabic", "en", "English", "english", seed=1201)
EN_AR = Direction("en", "English", "ar", "Arabic", "عربي", seed=1202)
DIRECTIONS = (AR_EN, EN_AR)


def train_sentencepiece() -> bytes:
    """Train a small unigram SentencePiece model on the corpus and the two markers."""
    import sentencepiece as spm

    lines = CORPUS_EN + CORPUS_AR + [f"{d.marker} " * 8 for d in DIRECTIONS] * 8
    model = io.BytesIO()
    spm.set_random_generator_seed(SPM_SEED)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="unigram",
        vocab_size=200,
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    data = model.getvalue()
    processor = spm.SentencePieceProcessor(model_proto=data)
    for direction in DIRECTIONS:
        pieces = processor.encode(direction.marker, out_type=str)
        if pieces != ["▁" + direction.marker]:
            raise RuntimeError(f"marker {direction.marker!r} is not one piece: {pieces}")
    return data


def _vocabulary(spm_model: bytes) -> list[str]:
    """Return the SentencePiece pieces in id order (the model's shared vocabulary)."""
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=spm_model)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _layer_norm(spec: Any) -> None:
    """Set a layer norm to the identity scale (gamma 1, beta 0), as a fresh model starts."""
    spec.gamma = np.ones(D_MODEL, dtype=np.float32)
    spec.beta = np.zeros(D_MODEL, dtype=np.float32)


def _linear(spec: Any, rng: np.random.Generator, rows: int, cols: int) -> None:
    """Set a linear layer to random weights and zero bias."""
    spec.weight = rng.normal(0, INIT_STD, (rows, cols)).astype(np.float32)
    spec.bias = np.zeros(rows, dtype=np.float32)


def _attention(spec: Any, rng: np.random.Generator, *, self_attention: bool) -> None:
    """Set one attention block: fused QKV for self-attention, Q and fused KV otherwise."""
    _layer_norm(spec.layer_norm)
    linears = spec.linear
    if self_attention:
        _linear(linears[0], rng, 3 * D_MODEL, D_MODEL)
    else:
        _linear(linears[0], rng, D_MODEL, D_MODEL)
        _linear(linears[1], rng, 2 * D_MODEL, D_MODEL)
    _linear(linears[-1], rng, D_MODEL, D_MODEL)


def _ffn(spec: Any, rng: np.random.Generator) -> None:
    """Set one feed-forward block."""
    _layer_norm(spec.layer_norm)
    _linear(spec.linear_0, rng, FFN, D_MODEL)
    _linear(spec.linear_1, rng, D_MODEL, FFN)


def build_model_spec(direction: Direction, vocabulary: list[str]) -> Any:
    """Return a validated-ready TransformerSpec with seeded random weights and the marker path."""
    from ctranslate2.specs import TransformerSpec

    rng = np.random.default_rng(direction.seed)
    size = len(vocabulary)
    spec = TransformerSpec.from_config((1, 1), HEADS, pre_norm=True)
    encoder, decoder = spec.encoder, spec.decoder
    encoder.embeddings[0].weight = rng.normal(0, INIT_STD, (size, D_MODEL)).astype(np.float32)
    for layer in encoder.layer:
        _attention(layer.self_attention, rng, self_attention=True)
        _ffn(layer.ffn, rng)
    _layer_norm(encoder.layer_norm)

    start = vocabulary.index(spec.config.decoder_start_token)
    eos = vocabulary.index(spec.config.eos_token)
    marker = vocabulary.index("▁" + direction.marker)
    embeddings = rng.normal(0, INIT_STD, (size, D_MODEL)).astype(np.float32)
    embeddings[start, START_DIM] = EMBED_SPIKE
    embeddings[marker, MARKER_DIM] = EMBED_SPIKE
    decoder.embeddings.weight = embeddings
    for layer in decoder.layer:
        _attention(layer.self_attention, rng, self_attention=True)
        _attention(layer.attention, rng, self_attention=False)
        _ffn(layer.ffn, rng)
    _layer_norm(decoder.layer_norm)
    # After the start token say the marker; after the marker end the sentence.
    _linear(decoder.projection, rng, size, D_MODEL)
    decoder.projection.weight[marker, START_DIM] = LOGIT_SPIKE
    decoder.projection.weight[eos, MARKER_DIM] = LOGIT_SPIKE

    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    return spec


def _metadata(direction: Direction) -> dict[str, object]:
    """Return the package's metadata.json content."""
    return {
        "package_version": PACKAGE_VERSION,
        "argos_version": ARGOS_VERSION,
        "from_code": direction.from_code,
        "from_name": direction.from_name,
        "to_code": direction.to_code,
        "to_name": direction.to_name,
        "type": "translate",
        "links": [],
    }


def _readme(direction: Direction) -> str:
    """Return the README.md placed inside the package."""
    return (
        f"Tiny random-weight {direction.from_name}→{direction.to_name} test package built by "
        "Sanad's tools/build_fixture_models.py.\n"
        f"Every sentence comes out as the word {direction.marker!r}: not a translation.\n"
    )


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Write one member with a fixed timestamp and mode so builds are byte-identical."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compresslevel=9)


def build_package(direction: Direction, spm_model: bytes, output_dir: Path) -> Path:
    """Build one .argosmodel file in output_dir and return its path."""
    spec = build_model_spec(direction, _vocabulary(spm_model))
    spec.validate()
    spec.optimize(quantization="int8")
    root = f"{direction.from_code}_{direction.to_code}"
    members: dict[str, bytes] = {
        f"{root}/metadata.json": json.dumps(_metadata(direction), indent=2).encode("utf-8"),
        f"{root}/README.md": _readme(direction).encode("utf-8"),
        f"{root}/sentencepiece.model": spm_model,
    }
    with tempfile.TemporaryDirectory() as scratch:
        spec.save(scratch)
        for path in sorted(Path(scratch).iterdir()):
            members[f"{root}/model/{path.name}"] = path.read_bytes()
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / direction.file_name
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted(members):
            _zip_entry(archive, name, members[name])
    return target


def build_all(output_dir: Path) -> list[Path]:
    """Build both directions into output_dir and return the package paths."""
    spm_model = train_sentencepiece()
    return [build_package(direction, spm_model, output_dir) for direction in DIRECTIONS]


def main(argv: list[str] | None = None) -> int:
    """Build the packages and print each file's size and sha256."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    for path in build_all(args.output_dir):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.name} {path.stat().st_size} {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
