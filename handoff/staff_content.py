"""Staff-facing content files: canned replies, the console's live line texts and every other
text the console and the figures page show (all editable). The registration lists staff fill
in are in ``common.registration``, beside the codes they label."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.content import ContentError, content_dir, load_current
from common.content import check_texts as _check_ui  # the names this module had
from common.content import text_words as _words
from common.names import Channel, Reason


@dataclass(frozen=True)
class CannedReply:
    title: str
    text: str


@dataclass(frozen=True)
class CannedReplies:
    version: int
    replies: list[CannedReply]


@dataclass(frozen=True)
class ConsoleTexts:
    """What the server itself tells the console over the websocket (content/staff_console.yml)."""

    version: int
    messages: dict[str, str]
    channels: dict[str, str] = field(default_factory=dict)  # channel code -> label in the console
    reasons: dict[str, str] = field(default_factory=dict)  # handoff reason -> label
    console: dict[str, str] = field(default_factory=dict)  # what the console shows itself
    insight: dict[str, str] = field(default_factory=dict)  # what the figures page shows itself

    def get(self, key: str) -> str:
        return self.messages[key]


CONSOLE_TEXT_KEYS = frozenset({"logged_out", "feed_lost", "feed_back"})
REASON_LABEL_KEYS = (*Reason, "left_message")  # left_message: outside opening hours
MAX_CLOSE_REASON = 123  # bytes: the limit of a websocket close frame's reason


# The words of the pages themselves, filled in by staff-api.js (applyTexts) from the HTML's
# data-text="key" (and data-text-title, -aria-label, -placeholder): none has words in braces.
_CONSOLE_PAGE = (
    "page_title",
    "app_title",
    "presence_label",
    "insight_link",
    "audit_log",
    "log_out",
    "flood_notice_close",
    "login_heading",
    "login_username",
    "login_password",
    "login_submit",
    "audit_close",
    "audit_hint",
    "audit_column_time",
    "audit_column_staff",
    "audit_column_action",
    "audit_column_conversation",
    "audit_empty",
    "sidebar_label",
    "tabs_label",
    "queue",
    "history",
    "queue_empty",
    "mine_heading",
    "mine_empty",
    "others_heading",
    "others_empty",
    "left_heading",
    "left_empty",
    "callbacks_heading",
    "callbacks_empty",
    "presence_heading",
    "history_heading",
    "history_empty",
    "no_conversation",
    "panel_close",
    "summary_label",
    "transcript_heading",
    "user_typing",
    "answer_box_label",
    "answer_label",
    "answer_send",
    "composer_label",
    "canned_label",
    "reply_label",
    "reply_hint",
    "send",
    "note_text_label",
    "add_note",
    "release",
    "transfer_label",
    "transfer",
    "close_heading",
    "close_topic",
    "close_outcome",
    "close_referral",
    "close_asker",
    "close_submit",
)
_INSIGHT_PAGE = (
    "page_title",
    "app_title",
    "console_link",
    "log_out",
    "filters_heading",
    "filter_from",
    "filter_to",
    "filter_by",
    "filter_channel",
    "filter_municipality",
    "filter_apply",
    "csv_link",
    "report_quarter",
    "report_link",
    "tiles_heading",
    "tile_label_conversations",
    "tile_label_bot_share",
    "tile_label_handoffs",
    "tile_label_abandoned",
    "tile_label_rating",
    "tile_label_crisis",
    "tile_label_offers",
    "figure_anonymous",
    "figure_not_understood",
    "figure_left_messages",
    "figure_divorce",
    "figure_referred",
    "figure_callbacks",
    "charts_heading",
    "chart_series",
    "chart_series_note",
    "chart_empty",
    "chart_table",
    "chart_themes",
    "chart_outcomes",
    "chart_waiting",
    "chart_handling",
    "chart_ratings",
    "chart_enough",
    "chart_who",
    "chart_users",
    "chart_channels",
    "chart_where",
    "chart_municipalities",
    "chart_ages",
    "chart_referrals",
    "unclear_heading",
    "unclear_hint",
    "unclear_open_only",
)


# The console's own texts (web/staff/console.js asks for them with t('key'), index.html with
# data-text) and the words in braces it fills in. A text may leave a word out; one it does not
# fill in would show as is.
CONSOLE_UI_WORDS = _words(
    {
        **dict.fromkeys(_CONSOLE_PAGE, ""),
        "reconnecting": "",
        "reconnected": "",
        "logged_in_as": "name",
        "login_missing": "",
        "logged_out_here": "",
        "error_generic": "",
        "presence_online": "",
        "presence_away": "",
        "presence_offline": "",
        "colleague_option": "name status",
        "colleague_offline": "",
        "choose_canned": "",
        "choose_topic": "",
        "choose_outcome": "",
        "choose_referral": "",
        "choose_asker": "",
        "choose_colleague": "",
        "conversation": "",
        "child_age": "age",
        "waiting_minutes": "minutes",
        "urgent": "",
        "claim": "",
        "claim_label": "reason position",
        "mine_since": "details time",
        "with_colleague": "name details",
        "left_message_from": "date",
        "rating": "rating",
        "routing_you": "",
        "routing_a_colleague": "",
        "routing_others": "who",
        "routing_others_until": "who minutes",
        "routing_urgent": "",
        "routing_nobody": "who",
        "routing_everyone": "",
        "routing_everyone_since": "minutes",
        "meta_mine": "",
        "meta_not_readable": "name",
        "meta_with_staff": "name",
        "meta_waiting": "",
        "meta_message": "",
        "meta_answered": "",
        "meta_closed": "date",
        "meta_cancelled": "",
        "meta_other": "",
        "safety_default": "",
        "safety_banner": "what",
        "summary_reason": "",
        "summary_theme": "",
        "summary_child_age": "",
        "summary_municipality": "",
        "summary_channel": "",
        "advised_heading": "",
        "who_user": "",
        "who_bot": "",
        "who_staff": "",
        "who_note": "",
        "who_system": "",
        "note_label": "",
        "write_message_first": "",
        "write_note_first": "",
        "write_answer_first": "",
        "choose_colleague_first": "",
        "choose_topic_first": "",
        "choose_outcome_first": "",
        "choose_referral_first": "",
        "released": "",
        "transferred": "name",
        "closed": "",
        "answer_sent": "",
        "audit_login": "",
        "audit_opened": "",
        "audit_claimed": "",
        "audit_closed": "",
        "audit_answered": "",
        "audit_transferred": "",
        "audit_received": "",
    }
)
# The figures page's own texts (web/staff/insight.js and insight.html), as CONSOLE_UI_WORDS.
INSIGHT_UI_WORDS = _words(
    {
        **dict.fromkeys(_INSIGHT_PAGE, ""),
        "logged_in_as": "name",
        "error_generic": "",
        "charts_missing": "",
        "filter_dates_missing": "",
        "filter_dates_order": "",
        "all_channels": "",
        "all_municipalities": "",
        "period": "from to by",
        "period_by_week": "",
        "period_by_month": "",
        "quarter": "quarter year",
        "quarter_running": "quarter year",
        "tile_anonymous": "count",
        "tile_bot_share": "answered conversations",
        "tile_handoffs": "",
        "tile_abandoned": "",
        "tile_rating": "average",
        "tile_rating_none": "",
        "tile_crisis": "",
        "tile_offers_clicked": "percent",
        "tile_offers_none": "",
        "scores_one": "count",
        "scores_many": "count",
        "duration_seconds": "seconds",
        "duration_minutes": "minutes",
        "duration_hours": "hours",
        "duration_hours_minutes": "hours minutes",
        "head_week": "",
        "head_month": "",
        "head_theme": "",
        "head_outcome": "",
        "head_duration": "",
        "head_score": "",
        "head_answer": "",
        "head_user_type": "",
        "head_channel": "",
        "head_municipality": "",
        "head_age": "",
        "head_referred_to": "",
        "series_conversations": "",
        "series_answered_by_bot": "",
        "series_handoffs": "",
        "series_abandoned": "",
        "series_count": "",
        "series_scores": "",
        "series_referrals": "",
        "enough_after_bot": "",
        "enough_after_staff": "",
        "who_waiting": "",
        "who_conversations": "",
        "percentile_none": "count who",
        "percentile": "p50 p90 p99 count who",
        "percentile_without_p90": "p50 p90 p99 count who",
        "ratings_note": "average scores",
        "ratings_none": "",
        "score_of_5": "score",
        "enough_note": "bot staff",
        "enough_none": "",
        "kind_fallback": "",
        "kind_unsure": "",
        "maybe": "intent",
        "mark_example": "intent",
        "mark_topic": "",
        "mark_topic_note": "note",
        "mark_ignore": "",
        "mark_other": "as",
        "example_for": "",
        "choose_topic": "",
        "save_example": "",
        "new_topic_label": "",
        "new_topic": "",
        "ignore": "",
        "all_marked": "",
        "no_unclear": "",
        "unclear_count": "open total",
        "choose_intent_first": "",
        "write_topic_first": "",
    }
)


def _check_console_texts(loaded: Any, path: Path) -> None:
    assert isinstance(loaded, ConsoleTexts)
    missing = sorted(CONSOLE_TEXT_KEYS - set(loaded.messages))
    if missing:
        raise ContentError(f"{path}: messages.{missing[0]} is missing")
    if len(loaded.messages["logged_out"].encode()) > MAX_CLOSE_REASON:
        raise ContentError(f"{path}: messages.logged_out: at most {MAX_CLOSE_REASON} bytes")
    for channel in Channel:  # staff would see a bare code otherwise
        if not loaded.channels.get(channel, "").strip():
            raise ContentError(f"{path}: channels.{channel} is missing")
    for reason in REASON_LABEL_KEYS:
        if not loaded.reasons.get(reason, "").strip():
            raise ContentError(f"{path}: reasons.{reason} is missing")
    for code in loaded.channels:
        if code not in set(Channel):
            raise ContentError(f"{path}: channels: '{code}' is not one of {', '.join(Channel)}")
    _check_ui(loaded.console, CONSOLE_UI_WORDS, f"{path}: console")
    _check_ui(loaded.insight, INSIGHT_UI_WORDS, f"{path}: insight")


def canned_replies(directory: Path | None = None) -> CannedReplies:
    return load_current(CannedReplies, (directory or content_dir()) / "canned_replies.yml")


def console_texts(directory: Path | None = None) -> ConsoleTexts:
    path = (directory or content_dir()) / "staff_console.yml"
    return load_current(ConsoleTexts, path, _check_console_texts)
