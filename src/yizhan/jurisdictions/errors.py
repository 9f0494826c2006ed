"""Error codes of the jurisdictions app."""

from yizhan.core.errors import DefaultField, Message, ValidationError

INVALID_CODE = "invalid_code"
DUPLICATE_CODE = "duplicate_code"
INVALID_LEVEL = "invalid_level"
WRONG_LEVEL_ORDER = "wrong_level_order"
MISSING_PARENT = "missing_parent"
INVALID_GEOMETRY = "invalid_geometry"
OUTSIDE_PARENT = "outside_parent"
JURISDICTION_MOVED = "jurisdiction_moved"
INVALID_GEOJSON = "invalid_geojson"

MESSAGES = {
    INVALID_CODE: Message("编码只能包含字母、数字、- 和 _", "Code may only contain letters, digits, - and _"),
    DUPLICATE_CODE: Message("编码 {node} 已存在", "Code {node} already exists"),
    INVALID_LEVEL: Message("层级 {level} 无效", "Unknown level {level}"),
    WRONG_LEVEL_ORDER: Message(
        "{node} 的层级必须比上级低一级", "{node} must be exactly one level below its parent"
    ),
    MISSING_PARENT: Message("找不到上级辖区 {parent}", "Parent jurisdiction {parent} not found"),
    INVALID_GEOMETRY: Message("{node} 的边界无效：{reason}", "Boundary of {node} is invalid: {reason}"),
    OUTSIDE_PARENT: Message("{node} 不在上级辖区范围内", "{node} lies outside its parent"),
    JURISDICTION_MOVED: Message(
        "{node} 的层级或上级不能更改", "The level or parent of {node} cannot be changed"
    ),
    INVALID_GEOJSON: Message("文件不是有效的 GeoJSON：{reason}", "Not a valid GeoJSON file: {reason}"),
}


class JurisdictionNotFound(DefaultField, ValidationError):
    """A jurisdiction named by code (query, body or path) that does not exist: one code, one
    status everywhere (400, like every other bad reference a client sends); ``field`` says
    which input named it. Replaces ``jurisdiction_not_found`` (404 on GET /jurisdictions/?root=
    and /needs/figures, 400 on /reports/figures)."""

    code = "unknown_jurisdiction"
    default_field = "jurisdiction"
    message = Message("找不到该辖区", "Jurisdiction not found")


class NameRequired(ValidationError):
    code = "required"
    message = Message("请填写名称", "Please give a name")
