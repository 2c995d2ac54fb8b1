"""Request and response shapes of the API (they make the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator

from briefs.schemas import SOPData

#: Ids are 64-bit database keys: anything larger is refused before it reaches the database.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
QUEUE_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


def no_nul(value: str) -> str:
    """PostgreSQL cannot store NUL characters in text; say so instead of failing later."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return value


UniqueKey = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_nul)]
TypeName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(no_nul)]


class JobOut(Schema):
    id: int
    type: str
    queue: str
    priority: int
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: int = Field(description="0 to 100")
    current_step: str
    result: Any = Field(
        None,
        description="What the handler returned (succeeded jobs); null with result_truncated "
        "when it is larger than the API shows (API_MAX_RESULT_BYTES; 16 KiB in lists)",
    )
    result_truncated: bool = Field(False, description="The result was too large to show here")
    error: str = Field(description="Why the last attempt failed, or why the job was cancelled")
    attempts: int
    max_attempts: int
    cancel_requested: bool
    usage: dict[str, Any] = Field(
        description="What the job's AI calls used, summed from its usage rows (GET /api/usage "
        "has each call): calls, cost, input/cached/output/reasoning tokens, audio seconds…"
    )
    cost: Decimal = Field(description="What the job's AI calls cost, in US dollars")
    held_reason: str = Field(
        description="Set while a queued job is held (e.g. 'monthly budget of $200.00 reached'): "
        "it runs when the cap is raised or the period rolls over"
    )
    created_at: datetime
    run_at: datetime = Field(description="Not started before this (also the next retry time)")
    started_at: datetime | None
    finished_at: datetime | None
    brief_id: int | None
    depends_on_id: int | None
    status_url: str
    poll_after: float | None = Field(
        description="Seconds to wait before asking again; null when the job has finished"
    )


class JobStatsOut(Schema):
    total: int
    by_status: dict[str, int]
    by_type: dict[str, dict[str, int]] = Field(description="type -> status -> number")


class JobListOut(Schema):
    action: str
    count: int
    jobs: list[JobOut]
    stats: JobStatsOut | None = None


class JobStartIn(Schema):
    payload: dict[str, Any] = Field(
        default_factory=dict, description="Input of the job type's handler (validated by it)"
    )
    delay: float | None = Field(
        None, ge=0, le=30 * 24 * 3600, allow_inf_nan=False, description="Seconds to wait first"
    )
    unique_key: UniqueKey | None = Field(
        None,
        description="While a job with this key is queued or running, starting another returns it",
    )
    priority: int | None = Field(None, ge=-100, le=100, description="Staff only; higher first")
    queue: str | None = Field(None, pattern=QUEUE_PATTERN, description="Staff only")


class JobStartOut(Schema):
    job_id: int
    status: str
    status_url: str
    poll_after: float | None


# --- briefs, transcripts, SOPs -------------------------------------------------------------

Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_nul)]
LongText = Annotated[str, Field(max_length=20_000), AfterValidator(no_nul)]


AssetText = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(no_nul)]


class AssetIn(Schema):
    """An asset: a URL to fetch, or a file uploaded with ``POST /api/uploads``."""

    url: AssetText | None = None
    file: AssetText | None = Field(None, description="The 'file' that POST /api/uploads answered")
    kind: Literal["video", "image", "audio", "text"] | None = Field(
        None, description="Guessed from the file name when not given"
    )
    name: AssetText | None = None


class BriefIn(Schema):
    title: Title
    query: LongText = Field(description="What the user wants made")
    media_type: Literal["video", "image", "audio", "text"]
    description: LongText = ""
    assets: list[AssetIn | AssetText] = Field(
        default_factory=list, max_length=20, description="URLs or uploaded files"
    )
    use_pipeline: bool = Field(
        False, description="Start the media type's whole pipeline at once (implies start)"
    )
    start: bool | None = Field(
        None,
        description="Start the brief's jobs at once (default: the value of use_pipeline); "
        "without the pipeline that is the analysis step",
    )
    storyboard: bool = Field(False, description="Add a storyboard step after the analysis")


class BriefIntegrateIn(Schema):
    brief_id: Id
    use_pipeline: bool = False
    storyboard: bool = False


class TranscriptOut(Schema):
    id: int
    brief_id: int
    job_id: int | None
    language: str
    model: str
    prompt_version: str
    created_at: datetime
    segments: list[dict[str, Any]]
    text: str


class SOPOut(Schema):
    id: int
    brief_id: int
    job_id: int | None
    transcript_id: int | None
    title: str
    data: SOPData | dict[str, Any] = Field(
        description="The SOP, in the model the OpenAI call asked for (SOPData); an SOP written "
        "by other means (imported, edited by hand) comes as it is stored"
    )
    model: str
    prompt_version: str
    created_at: datetime
    version: int = Field(description="The version served (see `?version=`).")
    review_state: str = Field(
        description="draft, in_review, approved, changes_requested; `superseded` for an "
        "older version that is not the approved one."
    )
    latest_version: int
    approved_version: int | None
    version_created_at: datetime


class OutputOut(Schema):
    id: int
    kind: str = Field(description="analysis, storyboard, image, video, slim_video, …")
    name: str
    content_type: str
    size: int = Field(description="Bytes of the file, or of the JSON document")
    download_url: str = Field(description="The file or the JSON document (owner or staff)")
    step: str = Field(description="The job type that made it")
    job_id: int | None = Field(description="The job that made it; null once that job is pruned")
    created_at: datetime


class BriefOut(Schema):
    id: int
    title: str
    description: str
    query: str
    media_type: str
    assets: list[Any]
    status: Literal["draft", "processing", "completed", "failed"]
    failure_reason: str
    created_at: datetime
    updated_at: datetime
    status_url: str
    jobs: list[JobOut] = Field(description="Its jobs that still exist (pruning removes old ones)")
    cost: Decimal = Field(
        description="What the brief's AI calls cost, in US dollars (pruned jobs' calls too)"
    )
    usage_by_model: list[dict[str, Any]] = Field(
        description="The brief's usage summed per model: key (the model), calls, cost, tokens…"
    )
    outputs: list[OutputOut] = Field(description="What its steps made (current outputs)")
    transcript: TranscriptOut | None = Field(description="The newest transcript, if any")
    sop: SOPOut | None = Field(description="The newest SOP, if any")


class BriefSummaryOut(Schema):
    id: int
    title: str
    media_type: str
    status: str
    created_at: datetime
    status_url: str


class BriefListOut(Schema):
    count: int
    briefs: list[BriefSummaryOut]


class UploadOut(Schema):
    kind: str
    file: str
    name: str


class BriefStartOut(Schema):
    brief_id: int
    status: str
    status_url: str
    jobs: list[JobStartOut]
