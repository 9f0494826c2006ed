"""Icons from the one SVG sprite (``static/icons.svg``), never emoji: phones without an
emoji font showed empty boxes.

    {% load yz_icons %}
    {% icon "toilet" %}                       amenity / action symbol by id
    {% category_icon case.category %}         a report category (object, dict or code)
    {% category_icon row.icon %}              ... or the emoji a category carries in data

A category maps by its code first, then by its emoji, else the generic pin.
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()

# The emoji the category catalogue (reports/data/categories.json) and admins use.
EMOJI_SYMBOLS = {
    "🕳": "cat-hole", "⚡": "cat-bolt", "📦": "cat-box", "🪧": "cat-sign", "💡": "cat-lamp",
    "🛗": "cat-elevator", "🧯": "cat-extinguisher", "🚏": "cat-bus", "🚻": "toilet", "🚽": "toilet",
    "🗑": "cat-trash", "🚮": "cat-trash", "🚧": "cat-barrier", "🚦": "cat-traffic", "🚥": "cat-traffic",
    "🛤": "cat-rail", "🌳": "cat-tree", "🌲": "cat-tree", "🌱": "cat-leaf", "🌿": "cat-leaf",
    "🏚": "cat-house", "🏠": "cat-house", "🏘": "cat-house", "🚛": "cat-truck", "🚚": "cat-truck",
    "🧹": "cat-broom", "💧": "cat-drop", "💦": "cat-drop", "🌊": "cat-drop", "📄": "cat-flyer",
    "📃": "cat-flyer", "🎏": "cat-banner", "🚩": "cat-banner", "🔊": "cat-noise", "📢": "cat-noise",
    "🔒": "cat-lock", "🛒": "cat-cart", "🚗": "cat-car", "🚙": "cat-car", "🚲": "cat-bike",
    "🏗": "cat-crane", "⛽": "cat-gas", "🔥": "cat-fire", "🚒": "cat-firetruck", "🔌": "cat-plug",
    "🛵": "cat-scooter", "⚠": "warning", "📍": "pin", "📷": "camera", "👥": "cat-people",
}
# Codes whose emoji is shared or missing (manhole vs road collapse both 🕳️ is fine; these differ).
CODE_SYMBOLS = {
    "public_toilet": "toilet", "waterlogging": "cat-drop", "pipe_burst": "cat-drop",
    "fire_equipment": "cat-extinguisher", "fire_hydrant": "cat-extinguisher",
    "unfenced_site": "cat-barrier", "road_damage": "cat-barrier",
}
DEFAULT_SYMBOL = "pin"


def _clean_emoji(value: str) -> str:
    # drop variation selectors and joiners: "🗑️" and "🗑" are the same picture
    return "".join(ch for ch in (value or "") if ch not in "\ufe0e\ufe0f\u200d").strip()


def symbol_for(category=None, *, code: str = "", emoji: str = "") -> str:
    """The sprite symbol id of a category (a model, a dict, a code or an emoji)."""
    if category is not None:
        if isinstance(category, str):
            if category in CODE_SYMBOLS:
                return CODE_SYMBOLS[category]
            emoji = emoji or category
        else:
            get = category.get if isinstance(category, dict) else (lambda k, d="": getattr(category, k, d))
            code = code or get("code", "") or ""
            emoji = emoji or get("icon", "") or ""
    if code in CODE_SYMBOLS:
        return CODE_SYMBOLS[code]
    return EMOJI_SYMBOLS.get(_clean_emoji(emoji), DEFAULT_SYMBOL)


def _svg(name: str, size: int, css: str, label: str = ""):
    href = f"{static('icons.svg')}#{name}"
    if label:
        return format_html('<svg class="icon {}" role="img" aria-label="{}" width="{}" height="{}" focusable="false">'
                           '<use href="{}"/></svg>', css, label, size, size, href)
    return format_html('<svg class="icon {}" aria-hidden="true" focusable="false" width="{}" height="{}">'
                       '<use href="{}"/></svg>', css, size, size, href)


@register.simple_tag
def icon(name: str, size: int = 20, css: str = "", label: str = ""):
    return _svg(str(name), size, css, label)


@register.simple_tag
def category_icon(category, size: int = 20, css: str = "cat-icon", label: str = ""):
    return _svg(symbol_for(category), size, css, label)


@register.simple_tag
def icons_url():
    return static("icons.svg")
