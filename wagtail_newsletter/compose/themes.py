"""Themes of newsletters: colours, fonts, header/footer layout and the CSS template of the email document.

Three themes ship with the app ("classic", "bold", "minimal"). A project adds its own with
``register_theme(Theme(...))`` (e.g. in an AppConfig's ``ready()``) or lists dotted paths to ``Theme`` instances
in ``WAGTAIL_NEWSLETTER["THEMES"]``. A newsletter stores its theme's ``name``; an unknown name means the default theme.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

DEFAULT_THEME = "classic"


@dataclass(frozen=True)
class Colours:
    """Email-safe colours (no pure #000/#fff: dark-mode clients invert those harshly)."""

    background: str = "#f2f4f7"  # around the content
    surface: str = "#fdfdfd"  # the content column
    text: str = "#1f2933"
    muted: str = "#5f6b7a"
    heading: str = "#111827"
    link: str = "#1a56db"
    accent: str = "#1a56db"  # header bar, quote border
    button_background: str = "#1a56db"
    button_text: str = "#fdfdfd"
    divider: str = "#d9dee5"
    header_background: str = "#fdfdfd"
    header_text: str = "#111827"
    footer_background: str = "#f2f4f7"
    footer_text: str = "#5f6b7a"
    # Dark mode (@media (prefers-color-scheme: dark)) counterparts.
    dark_background: str = "#161b22"
    dark_surface: str = "#1f2630"
    dark_text: str = "#e6e9ee"
    dark_heading: str = "#f2f4f7"
    dark_link: str = "#7aa7ff"


@dataclass(frozen=True)
class Theme:
    name: str  # stored on newsletters: a stable identifier
    label: str
    colours: Colours = field(default_factory=Colours)
    font_stack: str = "Arial, Helvetica, sans-serif"
    heading_font_stack: str = ""  # empty: same as font_stack
    # "centered": site name centred over the content; "bar": a coloured bar with the name on the left; "none".
    header_layout: str = "centered"
    # "centered" or "left".
    footer_layout: str = "centered"
    max_width: int = 600
    border_radius: int = 4
    css_template: str = "wagtail_newsletter/compose/theme.css"

    @property
    def headings_font(self):
        return self.heading_font_stack or self.font_stack

    @property
    def content_width(self):
        """Width of the content inside the column's padding, used to size images."""
        return self.max_width - 2 * 24


CLASSIC = Theme(name="classic", label=_("Classic"))

BOLD = Theme(
    name="bold",
    label=_("Bold"),
    colours=Colours(
        background="#2b1d4e",
        surface="#fffdf7",
        text="#231942",
        muted="#5e548e",
        heading="#231942",
        link="#c2185b",
        accent="#e63946",
        button_background="#e63946",
        button_text="#fffdf7",
        divider="#e8dff5",
        header_background="#e63946",
        header_text="#fffdf7",
        footer_background="#2b1d4e",
        footer_text="#e8dff5",
        dark_background="#120c22",
        dark_surface="#1d1535",
        dark_text="#efe9f7",
        dark_heading="#ffd6de",
        dark_link="#ff8fab",
    ),
    font_stack="'Trebuchet MS', Verdana, sans-serif",
    heading_font_stack="Impact, 'Arial Black', 'Trebuchet MS', sans-serif",
    header_layout="bar",
    footer_layout="centered",
    border_radius=24,
)

MINIMAL = Theme(
    name="minimal",
    label=_("Minimal"),
    colours=Colours(
        background="#fbfbf9",
        surface="#fbfbf9",
        text="#2e2e2e",
        muted="#6e6e6e",
        heading="#2e2e2e",
        link="#2e2e2e",
        accent="#2e2e2e",
        button_background="#2e2e2e",
        button_text="#fbfbf9",
        divider="#e4e4e0",
        header_background="#fbfbf9",
        header_text="#2e2e2e",
        footer_background="#fbfbf9",
        footer_text="#6e6e6e",
        dark_background="#1b1b1b",
        dark_surface="#1b1b1b",
        dark_text="#e4e4e0",
        dark_heading="#f0f0ec",
        dark_link="#f0f0ec",
    ),
    font_stack="Georgia, 'Times New Roman', serif",
    header_layout="none",
    footer_layout="left",
    max_width=560,
    border_radius=0,
)

_registry = {}


def register_theme(theme):
    """Make ``theme`` available to newsletters (a later registration under the same name replaces it)."""
    _registry[theme.name] = theme
    return theme


for _theme in (CLASSIC, BOLD, MINIMAL):
    register_theme(_theme)


def _settings_themes():
    paths = getattr(settings, "WAGTAIL_NEWSLETTER", {}).get("THEMES", ())
    return [import_string(path) if isinstance(path, str) else path for path in paths]


def get_themes():
    """All registered themes, name -> Theme (those of ``WAGTAIL_NEWSLETTER["THEMES"]`` included)."""
    themes = dict(_registry)
    for theme in _settings_themes():
        themes[theme.name] = theme
    return themes


def get_theme(name):
    """The theme called ``name``, or the default theme when there is none of that name."""
    themes = get_themes()
    return themes.get(name) or themes[DEFAULT_THEME]


def theme_choices():
    """Choices for a model or form field (a callable, so that migrations do not freeze the list)."""
    return [(theme.name, theme.label) for theme in get_themes().values()]
