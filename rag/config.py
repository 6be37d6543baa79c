"""One typed configuration, resolved once at the edge.

Precedence, lowest to highest: built-in defaults < ``byline.toml`` (or the file named by
``BYLINE_CONFIG``) < ``BYLINE_*`` environment variables < keyword arguments / CLI flags.
Unknown keys anywhere are an error rather than silently ignored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.errors import ConfigError

ENV_PREFIX = "BYLINE_"
CONFIG_ENV = "BYLINE_CONFIG"
DEFAULT_CONFIG_FILE = "byline.toml"


def _default_model_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "byline" / "models"


#: Relevance floors measured for each embedding model (docs/decisions/0001-abstention-threshold.md).
CALIBRATED_ABSTAIN = {"all-MiniLM-L6-v2": 0.30}
#: What an embedder with no calibration gets, with a warning: MiniLM's value.
UNCALIBRATED_ABSTAIN = 0.30


#: The first setting of the tuning section (``byline config`` prints its header there).
TUNING_FROM = "embed_title"


class Settings(BaseSettings):
    """Every knob Byline has. Holds the *names* of API-key variables, never keys."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    # Where the index lives.
    index_dir: Path = Field(Path(".byline"), description="Embedded index folder.")
    chroma_url: str | None = Field(
        None, description="URL of a `chroma run` server; when set, the server holds the vectors."
    )
    collection: str = Field("byline", description="Chroma collection name.")
    hnsw_ef: int = Field(300, ge=10, le=2000, description="HNSW search breadth (recall vs speed).")

    # Ingestion.
    embed_model: str = Field(
        "all-MiniLM-L6-v2",
        description="sentence-transformers model name or local path; the default is package-carried.",
    )
    # int8 keeps hit@5 and MRR within 0.01 of fp32 at about twice the speed on these CPUs
    # (docs/decisions/0100-int8-embedder.md).
    embed_backend: Literal["int8", "onnx", "torch"] = Field(
        "int8",
        description="int8: int8 ONNX export on ONNX Runtime; onnx: fp32 ONNX export; torch: "
        "the model in sentence-transformers (fp32). Exports are made once, into model_dir.",
    )
    embed_device: str = Field(
        "auto", description="auto (a GPU when present, else CPU), cpu or cuda."
    )
    embed_batch_size: int = Field(64, ge=1, le=4096)
    chunk_size: int = Field(800, ge=200, le=4000, description="Target chunk length in characters.")
    chunk_overlap: int = Field(120, ge=0, le=1000)
    max_file_mb: float = Field(25.0, gt=0, description="Files larger than this are skipped.")
    # Fewer segments make each query touch fewer postings lists; more make ingest merge less
    # often (docs/decisions/0101-growing-bm25.md).
    lexical_max_segments: int = Field(
        8, ge=1, le=256, description="Lexical index segments kept before the smallest are merged."
    )

    # Retrieval.
    candidates: int = Field(40, ge=5, le=500, description="Dense and lexical candidates each.")
    top_k: int = Field(4, ge=1, le=30, description="Passages put in the prompt.")
    context_chars: int | None = Field(
        None,
        ge=80,
        le=20000,
        description="Budget of excerpt characters for all passages together (prompt length, "
        "hence time to first token); none = top_k x passage_chars.",
    )
    per_article_cap: int = Field(2, ge=1, le=10, description="Most passages from one article.")
    # The passage read alone recovers answers the model overlooked among four; the similarity
    # floor keeps weak passages from producing wrong ones:
    # docs/decisions/0004-second-reading-after-refusal.md.
    focus_retry: bool = Field(
        True,
        description="When the model refuses, have it read the best passage again on its own.",
    )
    coverage_check: bool = Field(
        True,
        description="Abstain when the question names an outlet or a name no article covers.",
    )
    quote_evidence: bool = Field(
        True,
        description="When the model refuses, or its answer is turned down, offer the evidence "
        "sentence that plainly holds what was asked, quoted and cited.",
    )
    asked_checks: bool = Field(
        True,
        description="Abstain when an answer gives none of the kind asked for (a price, a "
        "number) or its passages do not name what was asked; drop a bare Yes to an open "
        "question.",
    )
    reranker: str | None = Field(
        None, description="Path to a local cross-encoder model (optional)."
    )

    # Answering.
    llm: str = Field("local:qwen2.5-coder-1.5b", description="Chat model spec 'provider:model'.")
    llm_base_url: str | None = Field(None, description="Endpoint for openai/azure/ollama.")
    llm_api_key_env: str | None = Field(
        None, description="Name of the environment variable holding the API key."
    )
    llm_api_version: str | None = Field(None, description="Azure OpenAI API version.")
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_max_tokens: int = Field(320, ge=16, le=8192)
    llm_timeout: float = Field(120.0, gt=0)
    llm_ctx: int = Field(4096, ge=1024, description="Context window of the embedded model.")
    # Two threads on two cores write faster than one, also on busy cores:
    # docs/decisions/0012-two-writing-threads.md.
    llm_threads: int | None = Field(
        None,
        ge=1,
        description="Generation threads for the embedded model; none = every usable core, up to 4.",
    )
    llm_batch_threads: int | None = Field(
        None,
        ge=1,
        description="Prompt threads for the embedded model; none = every usable core.",
    )
    model_dir: Path = Field(
        default_factory=_default_model_dir,
        description="Assembled GGUF and exported embedding models.",
    )

    # Limits and the web page's login (see docs/security.md).
    max_question_chars: int = Field(
        2000, ge=10, le=1_000_000, description="Longest question accepted (page and Python API)."
    )
    page_max_uploads: int = Field(20, ge=1, le=10_000, description="Most files in one upload.")
    page_auth_file: Path | None = Field(
        None, description="File of 'user:password' lines: the page's login (needed off loopback)."
    )
    page_auth_env: str | None = Field(
        None,
        description="Name of the environment variable holding 'user:password' pairs "
        "(comma-separated): the page's login (needed off loopback).",
    )

    # ---- Tuning -------------------------------------------------------------------------
    # Numbers chosen by measurement rather than set by a user. Each points to the decision
    # record with its question, command and numbers (docs/decisions/); change one only with
    # a run that compares (`byline eval compare`).
    # As often holding the gold answer as longer excerpts, for a shorter prompt:
    # docs/decisions/0007-shorter-excerpts.md.
    # The title line costs about a tenth of the embedded tokens and is what lets a passage
    # that never names its subject be found: docs/decisions/0102-ingest-pipeline-and-token-batches.md.
    embed_title: bool = Field(
        True,
        description="Embed each chunk with its article's title line before it (re-ingest into "
        "a new index after changing it).",
    )
    passage_chars: int = Field(
        320, ge=80, le=4000, description="Longest excerpt of one passage put in the prompt."
    )
    context_ratio: float = Field(
        0.6, ge=0, le=1, description="Passages scoring under this share of the best are left out."
    )
    # News states its key fact first; the value that won answers and lost none:
    # docs/decisions/0019-opening-sentences.md.
    lead_bonus: float = Field(
        0.2,
        ge=0,
        le=2,
        description="Excerpt score added to the first sentences of an article's opening chunk.",
    )
    # Cosine similarity depends on the embedder, so the floor is calibrated per embedding
    # model: under every answerable dev question's best passage, over most null ones
    # (docs/decisions/0001-abstention-threshold.md).
    abstain_thresholds: dict[str, float] = Field(
        default_factory=lambda: dict(CALIBRATED_ABSTAIN),
        description="Per embedding model: below this best relevance, abstain without asking "
        "the model.",
    )
    abstain_threshold: float | None = Field(
        None,
        description="One floor for any embedder, instead of its calibrated one (none = the "
        "calibrated value).",
    )
    focus_similarity: float = Field(
        0.45, ge=0, le=1, description="Least similarity of that passage for the second reading."
    )
    # A short first excerpt sometimes cuts off the sentence that answers; the second reading
    # shows the best passage at up to this length, a whole chunk
    # (docs/decisions/0007-shorter-excerpts.md).
    focus_chars: int = Field(
        800,
        ge=80,
        le=4000,
        description="Longest excerpt of the best passage on the second reading.",
    )
    # Under the probabilities of the refusals of unanswerable questions, over most refusals
    # of answerable ones: docs/decisions/0018-doubted-refusals.md.
    overrule_refusal_below: float = Field(
        0.25,
        ge=0,
        le=1,
        description="A refusal the model gives a lower probability than this is replaced by "
        "its best reply that is not a refusal, if every sentence of it is cited and supported "
        "(needs a model that reports probabilities: the embedded one); 0 = never.",
    )
    # Least support (word coverage and embedding similarity, 0-1) for a passage to back a
    # sentence: under it a citation is not shown (docs/decisions/0020-clause-citation-thresholds.md).
    support_threshold: float = Field(
        0.45, ge=0, le=1, description="Least support of a sentence by a passage to cite it."
    )
    # For a question in clauses: a source is cited for a clause it backs this well, and a
    # cited source that backs no clause above the floor is removed
    # (docs/decisions/0020-clause-citation-thresholds.md).
    clause_threshold: float = Field(
        0.35, ge=0, le=1, description="Least support of a question clause to cite its source."
    )
    clause_floor: float = Field(
        0.25, ge=0, le=1, description="A cited source backing no clause above this is removed."
    )
    # Set before measuring, not fitted (docs/decisions/0030-checks-a-reader-can-trust.md).
    conflict_days: int = Field(
        3,
        ge=0,
        le=60,
        description="Reports this many days apart or closer, from different publishers, that "
        "state a claim differently are a conflict (each attributed); further apart, the later "
        "one is an update.",
    )
    followup_cited_weight: float = Field(
        0.5,
        ge=0,
        le=2,
        description="Weight, in a follow-up's fused ranking, of the passages of the articles "
        "the previous answer cited.",
    )
    # Set before measuring, not fitted (docs/decisions/0029-evidence-quotes.md).
    evidence_kind_bonus: float = Field(
        0.3,
        ge=0,
        le=2,
        description="Evidence score added to a sentence holding the kind of thing asked for "
        "(a number for 'how many', a name for 'who') that the question does not.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        elif CONFIG_ENV in os.environ:
            raise ConfigError(f"{CONFIG_ENV} names {toml_path}, which does not exist")
        return tuple(sources)

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Resolve the configuration; ``None`` overrides are ignored so CLI flags can pass through."""
        unknown_env = sorted(
            k
            for k in os.environ
            if k.startswith(ENV_PREFIX)
            and k != CONFIG_ENV
            and k[len(ENV_PREFIX) :].lower() not in cls.model_fields
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = sorted(set(given) - set(cls.model_fields))
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(unknown)}")
        try:
            settings = cls(**given)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"invalid configuration: {problems}") from None
        # A variable that a ``*_env`` setting names holds a secret, not a setting.
        named = {getattr(settings, f) for f in cls.model_fields if f.endswith("_env")}
        unknown_env = [k for k in unknown_env if k not in named]
        if unknown_env:
            raise ConfigError(
                f"unknown environment variable(s) {', '.join(unknown_env)}: "
                "run `byline config` to see the valid settings"
            )
        return settings

    @property
    def embed_identity(self) -> str:
        """What an index built with these settings records about its vectors."""
        from rag.embeddings import embed_identity

        return embed_identity(self.embed_model, self.embed_backend)

    def relevance_floor(self) -> tuple[float, bool]:
        """The abstention floor for the configured embedder, and whether it is calibrated
        (set by hand, or measured for this embedding model)."""
        if self.abstain_threshold is not None:
            return self.abstain_threshold, True
        if self.embed_model in self.abstain_thresholds:
            return self.abstain_thresholds[self.embed_model], True
        return UNCALIBRATED_ABSTAIN, False

    def public_dict(self) -> dict[str, Any]:
        """The resolved settings as JSON-ready values (no secrets are ever stored here)."""
        return self.model_dump(mode="json")
