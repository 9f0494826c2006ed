"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) at ``/open311/v2/``,
with FixMyStreet's ``servicerequestupdates`` extension.

Plain Django views (the spec wants XML as well as JSON, a format suffix on every
resource and its own error shape), as thin as the API: parse the spec's parameters,
call the reports services, shape the answer.

* A service is an active ``Category`` (``service_code`` = its code); its attributes
  are the category's ``extra_fields``.
* A service request is a ``Case``: ``service_request_id`` = ``Case.number``, the
  token of ``tokens/{token}`` = ``Case.token``. Status is ``closed`` for closed,
  evaluated, rejected and merged cases, ``open`` otherwise; the case's own state
  is given as ``external_status_code`` (FixMyStreet's extension field).
* GETs are public and carry no personal data of reporters (no names, phones,
  emails; only approved, redacted photos). POST needs an ``api_key`` made by
  ``yizhan open311-key NAME``; the contact details it sends are stored privately.
* Times are ISO 8601 in Asia/Shanghai (``+08:00``).
* Errors are ``[{"code": 400, "description": "..."}]`` (XML: ``<errors><error>``)
  with 400, 403 or 404.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from yizhan.core.errors import AppError
from yizhan.core.text import clean_text
from yizhan.core.tz import SHANGHAI
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.reports import services
from yizhan.reports.choices import CaseState, Clock
from yizhan.reports.models import Case, CaseEvent, CasePhoto, Category
from yizhan.reports.services.open311 import open311_client_authenticate

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00+08:00"  # when this endpoint's behaviour last changed
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
CLOSED_STATES = {CaseState.CLOSED, CaseState.EVALUATED, CaseState.REJECTED, CaseState.MERGED}
DEFAULT_DAYS = 90
MAX_RESULTS = 1000
MAX_IDS = 200
ATTRIBUTE_RE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# XML element of one item of each list-valued key (the spec's names).
XML_ITEM = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        self.status = status
        self.description = description
        super().__init__(description)


def _en() -> bool:
    return (translation.get_language() or "").startswith("en")


def _t(zh: str, en: str) -> str:
    return en if _en() else zh


def _bad(zh: str, en: str, status: int = 400) -> Open311Error:
    return Open311Error(status, _t(zh, en))


def _from_app_error(exc: AppError) -> Open311Error:
    status = 404 if exc.status == 404 else 403 if exc.status in (401, 403) else 400
    text = exc.text(translation.get_language())
    where = f" [{exc.field}]" if exc.field else ""
    return Open311Error(status, f"{exc.code}{where}: {text}")


# ---- rendering -------------------------------------------------------------------------


def _xml_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return XML_ILLEGAL.sub("", str(value))  # characters XML 1.0 cannot carry


def _xml_fill(parent: ET.Element, data: dict) -> None:
    for key, value in data.items():
        child = ET.SubElement(parent, key)
        if isinstance(value, dict):
            _xml_fill(child, value)
        elif isinstance(value, list):
            for item in value:
                sub = ET.SubElement(child, XML_ITEM.get(key, "item"))
                if isinstance(item, dict):
                    _xml_fill(sub, item)
                else:
                    sub.text = _xml_value(item)
        else:
            child.text = _xml_value(value)


def render_xml(root: str, item: str | None, data) -> bytes:
    """``data`` is a list of dicts (each an ``item`` element) or one dict (the root's content)."""
    top = ET.Element(root)
    if isinstance(data, list):
        for entry in data:
            _xml_fill(ET.SubElement(top, item), entry)
    else:
        _xml_fill(top, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


def respond(fmt: str, data, *, root: str, item: str | None = None, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        body = render_xml(root, item, data)
    else:
        body = json.dumps(data, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=FORMATS.get(fmt, FORMATS["json"]))


def error_response(fmt: str, status: int, description: str) -> HttpResponse:
    return respond(fmt if fmt in FORMATS else "json", [{"code": status, "description": description}],
                   root="errors", item="error", status=status)


def open311_view(methods: tuple[str, ...]):
    """Wrap a view ``f(request, fmt, **kw)``: method check, Open311 errors, AppErrors."""

    def wrap(func):
        @csrf_exempt
        def view(request, fmt="json", **kwargs):
            if request.method not in methods:
                resp = error_response(fmt, 405, _t("不支持该请求方法", "Method not allowed"))
                resp["Allow"] = ", ".join(methods)
                return resp
            try:
                return func(request, fmt, **kwargs)
            except Open311Error as exc:
                return error_response(fmt, exc.status, exc.description)
            except AppError as exc:
                err = _from_app_error(exc)
                return error_response(fmt, err.status, err.description)

        view.__name__ = func.__name__
        view.__doc__ = func.__doc__
        return view

    return wrap


# ---- shapes --------------------------------------------------------------------------------


def iso(dt: datetime | None) -> str | None:
    return timezone.localtime(dt, SHANGHAI).isoformat(timespec="seconds") if dt else None


def _duration(minutes: int, clock: str) -> str:
    working = clock != Clock.NATURAL
    if minutes % (60 * 24) == 0 and not working:
        n, zh, en = minutes // (60 * 24), "天", "days"
    elif minutes % 60 == 0:
        n, zh, en = minutes // 60, "小时", "hours"
    else:
        n, zh, en = minutes, "分钟", "minutes"
    return _t(f"{n} {'工作' if working else ''}{zh}", f"{n} {'working ' if working else ''}{en}")


def service_notice(category: Category) -> str:
    return _t(
        f"受理时限 {_duration(category.accept_minutes, category.clock)}，"
        f"处置时限 {_duration(category.handle_minutes, category.clock)}",
        f"Accepted within {_duration(category.accept_minutes, category.clock)}, "
        f"handled within {_duration(category.handle_minutes, category.clock)}",
    )


def _name(obj, field: str = "name") -> str:
    return (_en() and getattr(obj, f"{field}_en", "")) or getattr(obj, field)


def service_out(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": _name(category),
        "description": _name(category, "description"),
        "metadata": bool(category.extra_fields),
        "type": "realtime",
        "keywords": ",".join(k.strip() for k in re.split(r"[,，、\s]+", category.keywords or "") if k.strip()),
        "group": _name(category, "group_name"),
    }


DATATYPES = {
    "number": "number", "int": "number", "integer": "number", "float": "number", "decimal": "number",
    "date": "datetime", "datetime": "datetime", "time": "datetime",
    "text": "text", "textarea": "text",
    "select": "singlevaluelist", "choice": "singlevaluelist", "radio": "singlevaluelist",
    "singlevaluelist": "singlevaluelist",
    "multiselect": "multivaluelist", "checkbox": "multivaluelist", "multivaluelist": "multivaluelist",
}


def _values(field: dict) -> list[dict]:
    out = []
    for v in field.get("choices") or field.get("options") or field.get("values") or []:
        if isinstance(v, dict):
            key = v.get("value", v.get("key", v.get("code", "")))
            name = (_en() and v.get("label_en")) or v.get("label") or v.get("name") or key
        elif isinstance(v, (list, tuple)) and len(v) == 2:
            key, name = v
        else:
            key = name = v
        out.append({"key": str(key), "name": str(name)})
    return out


def attribute_out(field: dict, order: int) -> dict:
    values = _values(field)
    kind = str(field.get("type") or field.get("datatype") or "").lower()
    datatype = DATATYPES.get(kind, "singlevaluelist" if values else "string")
    if datatype in ("singlevaluelist", "multivaluelist") and not values:
        datatype = "string"
    out = {
        "variable": True,
        "code": str(field.get("name", "")),
        "datatype": datatype,
        "required": bool(field.get("required")),
        "datatype_description": str((_en() and field.get("help_en")) or field.get("help") or ""),
        "order": order,
        "description": str((_en() and field.get("label_en")) or field.get("label") or field.get("name", "")),
    }
    if values:
        out["values"] = values
    return out


def _media_url(request, case: Case) -> str:
    for photo in case.open311_photos:
        if photo.public_image:
            return request.build_absolute_uri(photo.public_image.url)
    return ""


def status_of(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"


def _status_notes(case: Case) -> str:
    """The latest public reply (staff notes, reject/park reasons are internal), else the
    state's label."""
    if case.state == CaseState.MERGED and case.merged_into_id:
        return _t(f"与 {case.merged_into.number} 重复，已合并", f"Duplicate of {case.merged_into.number}")
    for event in case.open311_events:
        if event.public_note:
            return event.public_note
    return str(CaseState(case.state).label) if case.state in CaseState.values else case.state


def request_out(request, case: Case) -> dict:
    category = case.category
    agency = case.department if case.department_id else case.jurisdiction
    open_clock = case.state not in CLOSED_STATES and case.state != CaseState.PARKED
    return {
        "service_request_id": case.number,
        "status": status_of(case.state),
        "status_notes": _status_notes(case),
        "service_name": _name(category),
        "service_code": category.code,
        # a rejected report stays listed (its sender must learn it is closed) without its text
        "description": "" if case.state == CaseState.REJECTED else case.description,
        "agency_responsible": _name(agency),
        "service_notice": service_notice(category),
        "requested_datetime": iso(case.submitted_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": iso(case.stage_due_at) if open_clock else None,
        "address": case.address,
        "address_id": "",
        "zipcode": "",
        "lat": case.lat,
        "long": case.lng,
        "media_url": _media_url(request, case),
        "external_status_code": case.state,
    }


def _public_photos():
    return CasePhoto.objects.filter(approved_at__isnull=False).exclude(public_image="").order_by("created_at", "id")


def cases_queryset():
    """Cases as Open311 shows them (no reporter data is read)."""
    return Case.objects.select_related("category", "department", "jurisdiction", "merged_into").prefetch_related(
        Prefetch("photos", queryset=_public_photos(), to_attr="open311_photos"),
        Prefetch("events", queryset=CaseEvent.objects.filter(is_public=True).exclude(public_note="").order_by("-at", "-id"),
                 to_attr="open311_events"),
    )


# ---- parameters ---------------------------------------------------------------------------


def parse_datetime_param(name: str, raw: str) -> datetime:
    """W3C date-time (``Z`` or an offset; a bare date or a naive time is Asia/Shanghai)."""
    text = raw.strip().replace(" ", "+") if raw else ""  # a '+' in a query string arrives as a space
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _bad(f"{name} 须为 W3C 日期时间，例如 2026-11-01T00:00:00+08:00",
                   f"{name} must be a W3C date-time such as 2026-11-01T00:00:00Z") from None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=SHANGHAI)
    return value


def date_window(params, start_key: str = "start_date", end_key: str = "end_date",
                alt: tuple[str, str] | None = None) -> tuple[datetime, datetime]:
    """The spec's window: at most 90 days, the most recent 90 when not given."""
    raw_start = params.get(start_key) or (params.get(alt[0]) if alt else "") or ""
    raw_end = params.get(end_key) or (params.get(alt[1]) if alt else "") or ""
    start = parse_datetime_param(start_key, raw_start) if raw_start else None
    end = parse_datetime_param(end_key, raw_end) if raw_end else None
    span = timedelta(days=DEFAULT_DAYS)
    if start is None and end is None:
        end = timezone.now()
        start = end - span
    elif start is None:
        start = end - span
    elif end is None:
        end = start + span
    if end < start:
        raise _bad(f"{end_key} 早于 {start_key}", f"{end_key} is before {start_key}")
    if end - start > span:
        raise _bad(f"{start_key} 与 {end_key} 相隔不能超过 {DEFAULT_DAYS} 天",
                   f"{start_key} and {end_key} may not span more than {DEFAULT_DAYS} days")
    return start, end


def _comma(raw: str | None) -> list[str]:
    return [p.strip() for p in (raw or "").split(",") if p.strip()]


def _jurisdiction_scope(params):
    """Optional ``jurisdiction_id`` (a jurisdiction code): it must exist (404, as the spec
    says); on GET requests and updates it narrows the answer to that subtree."""
    code = str(params.get("jurisdiction_id") or "").strip()
    if not code:
        return None

    node = Jurisdiction.objects.filter(code=code).first()
    if node is None:
        raise _bad(f"未知的 jurisdiction_id：{code}", f"jurisdiction_id not found: {code}", 404)
    return node


# ---- views -------------------------------------------------------------------------------------


@open311_view(("GET", "HEAD"))
def discovery(request, fmt):
    """Service discovery (https://wiki.open311.org/Service_discovery)."""
    url = request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": "json"})).rsplit("/", 1)[0]
    data = {
        "changeset": CHANGESET,
        "contact": _t("驿站平台：请联系所在区的城市管理指挥中心", "Yizhan: contact your district's city-management centre"),
        "key_service": _t("向区管理员申请 api_key（yizhan open311-key 名称）",
                          "Ask a district admin for an api_key (yizhan open311-key NAME)"),
        "endpoints": [{
            "specification": SPEC_URL,
            "url": url,
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }],
    }
    return respond(fmt, data, root="discovery")


@open311_view(("GET", "HEAD"))
def service_list(request, fmt):
    """GET Service List: every active category."""
    _jurisdiction_scope(request.GET)
    categories = Category.objects.filter(active=True).order_by("kind", "group", "sort", "code")
    return respond(fmt, [service_out(c) for c in categories], root="services", item="service")


@open311_view(("GET", "HEAD"))
def service_definition(request, fmt, code):
    """GET Service Definition: the category's extra fields as attributes."""
    _jurisdiction_scope(request.GET)
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        raise _bad(f"未知的 service_code：{code}", f"service_code not found: {code}", 404)
    fields = [f for f in (category.extra_fields or []) if isinstance(f, dict) and f.get("name")]
    data = {"service_code": category.code,
            "attributes": [attribute_out(f, i) for i, f in enumerate(fields, start=1)]}
    return respond(fmt, data, root="service_definition")


@open311_view(("GET", "HEAD", "POST"))
def requests_view(request, fmt):
    if request.method == "POST":
        return _post_request(request, fmt)
    return _get_requests(request, fmt)


def _get_requests(request, fmt):
    """GET Service Requests with the spec's filters (newest first, at most 1000)."""
    params = request.GET
    qs = cases_queryset()
    ids = _comma(params.get("service_request_id"))
    if ids:  # "overrides all other arguments"
        if len(ids) > MAX_IDS:
            raise _bad(f"service_request_id 最多 {MAX_IDS} 个", f"At most {MAX_IDS} service_request_id values")
        qs = qs.filter(number__in=ids)
    else:
        node = _jurisdiction_scope(params)
        if node is not None:
            qs = qs.filter(jurisdiction__path__startswith=node.path)
        codes = _comma(params.get("service_code"))
        if codes:
            qs = qs.filter(category__code__in=codes)
        statuses = [s.lower() for s in _comma(params.get("status"))]
        bad = [s for s in statuses if s not in ("open", "closed")]
        if bad:
            raise _bad(f"status 只能是 open 或 closed：{bad[0]}", f"status must be open or closed: {bad[0]}")
        if set(statuses) == {"open"}:
            qs = qs.exclude(state__in=CLOSED_STATES)
        elif set(statuses) == {"closed"}:
            qs = qs.filter(state__in=CLOSED_STATES)
        start, end = date_window(params)
        qs = qs.filter(submitted_at__gte=start, submitted_at__lte=end)
    cases = list(qs.order_by("-submitted_at", "-id")[:MAX_RESULTS])
    return respond(fmt, [request_out(request, c) for c in cases], root="service_requests", item="request")


def _post_params(request) -> dict:
    data = request.POST
    if not data and request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise _bad("请求体不是有效的 JSON", "The body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("请求体须为对象", "The body must be an object")
        return {k: (v if isinstance(v, list) else str(v)) for k, v in body.items() if v is not None}
    out: dict = {}
    for key in data:
        values = data.getlist(key)
        out[key] = values if key.endswith("[]") else values[-1]
    return out


def _attributes(params: dict, category: Category) -> dict:
    """``attribute[code]`` values the service defines (others are ignored, as the spec allows)."""
    known = {str(f.get("name")): f for f in (category.extra_fields or []) if isinstance(f, dict) and f.get("name")}
    details: dict = {}
    for key, value in params.items():
        m = ATTRIBUTE_RE.match(key)
        if not m or m.group(1) not in known:
            continue
        name = m.group(1)
        if isinstance(value, list):
            value = [str(v) for v in value if str(v).strip()]
            if value:
                details[name] = value
        elif str(value).strip():
            details[name] = str(value).strip()
    return details


def _locate_address(address: str) -> tuple[float, float]:
    """No geocoder: an address naming one of our jurisdictions is placed at the centre of
    the deepest one it names (the address text goes with the case for the grid worker)."""
    best = None
    for node in Jurisdiction.objects.exclude(center_lat__isnull=True).only(
            "name", "code", "depth", "center_lat", "center_lng"):
        if (node.name and node.name in address) or node.code in address:
            if best is None or node.depth > best.depth:
                best = node
    if best is None:
        raise _bad("无法定位 address_string，请提供 lat 和 long",
                   "address_string could not be located; send lat and long")
    return best.center_lat, best.center_lng


def _post_request(request, fmt):
    """POST Service Request (api_key required).

    Key errors as GeoReport v2 has them: the spec's "Possible Errors" for POST Service
    Request list "400 - ... was not provided" for a missing required argument, so a
    missing (or blank) api_key is a 400; it lists no code for a bad key, so an unknown or
    revoked key is a 403 Forbidden (the key is a form field, not an HTTP auth scheme, so
    not a 401 with a WWW-Authenticate challenge). Both in the spec's error list shape."""
    params = _post_params(request)
    api_key = str(params.get("api_key") or "").strip()
    if not api_key:
        raise _bad("缺少 api_key", "api_key was not provided")
    try:
        client = open311_client_authenticate(raw_key=api_key)
    except AppError as exc:
        raise Open311Error(403, _from_app_error(exc).description) from None
    _jurisdiction_scope(params)
    code = (params.get("service_code") or "").strip()
    if not code:
        raise _bad("缺少 service_code", "service_code was not provided")
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        raise _bad(f"未知的 service_code：{code}", f"service_code not found: {code}")
    address = clean_text(str(params.get("address_string") or ""))
    lat, lng = params.get("lat"), params.get("long", params.get("lon", params.get("lng")))
    if lat in (None, "") and lng in (None, ""):
        if not address:
            raise _bad("须提供 lat 和 long，或 address_string",
                       "lat and long, or address_string, are required")
        lat, lng = _locate_address(address)
    first, last = clean_text(str(params.get("first_name") or "")), clean_text(str(params.get("last_name") or ""))
    contact = {
        "name": " ".join(p for p in (first, last) if p),
        "phone": str(params.get("phone") or "").strip(),
        "email": str(params.get("email") or "").strip(),
    }
    photos = request.FILES.getlist("media") + request.FILES.getlist("media[]")
    description = clean_text(str(params.get("description") or ""), multiline=True, strip=False)
    media_url = str(params.get("media_url") or "").strip()
    if media_url.startswith(("http://", "https://")) and len(media_url) <= 500:
        # not fetched (the server reaches no third-party host): kept as a link in the text
        description = f"{description}\n\n{media_url}" if description else media_url
    result = services.case_submit(
        actor=None, category=category.code, lat=lat, lng=lng, description=description,
        details=_attributes(params, category), photos=photos, address=address[:200], source="open311",
        contact={k: v for k, v in contact.items() if v} or None, open311_client=client,
        # an extension: a client's retry with the same Idempotency-Key returns the same request (200)
        idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
    )
    case = result.case
    data = [{"service_request_id": case.number, "token": case.token,
             "service_notice": service_notice(case.category), "account_id": None}]
    return respond(fmt, data, root="service_requests", item="request", status=201 if result.created else 200)


@open311_view(("GET", "HEAD"))
def request_detail(request, fmt, number):
    """GET Service Request: one case (a list of one, as the spec says)."""
    case = cases_queryset().filter(number=number).first()
    if case is None:
        raise _bad(f"未找到 service_request_id：{number}", f"service_request_id not found: {number}", 404)
    return respond(fmt, [request_out(request, case)], root="service_requests", item="request")


@open311_view(("GET", "HEAD"))
def token_detail(request, fmt, token):
    """GET service_request_id from a token."""
    case = Case.objects.filter(token=token).only("number", "token").first()
    if case is None:
        raise _bad(f"未找到 token：{token}", f"token not found: {token}", 404)
    return respond(fmt, [{"service_request_id": case.number, "token": case.token}],
                   root="service_requests", item="request")


def update_out(request, event: CaseEvent) -> dict:
    case = event.case
    state = event.to_state or case.state
    photo = next((p for p in event.open311_photos if p.public_image), None)
    return {
        "update_id": str(event.pk),
        "service_request_id": case.number,
        "status": status_of(state),
        "updated_datetime": iso(event.at),
        "description": event.public_note or str(event.get_action_display()),
        "media_url": request.build_absolute_uri(photo.public_image.url) if photo else "",
        "external_status_code": state,
    }


@open311_view(("GET", "HEAD"))
def service_request_updates(request, fmt):
    """FixMyStreet's GET Service Request Updates: the public timeline events in a window
    (``start_date``/``end_date``, or ``updated_after``/``updated_before``), oldest first."""
    params = request.GET
    start, end = date_window(params, alt=("updated_after", "updated_before"))
    qs = CaseEvent.objects.filter(is_public=True, at__gte=start, at__lte=end).select_related("case")
    node = _jurisdiction_scope(params)
    if node is not None:
        qs = qs.filter(case__jurisdiction__path__startswith=node.path)
    ids = _comma(params.get("service_request_id"))
    if ids:
        qs = qs.filter(case__number__in=ids[:MAX_IDS])
    qs = qs.exclude(Q(case__state=CaseState.REJECTED) & ~Q(to_state=CaseState.REJECTED))
    qs = qs.prefetch_related(Prefetch("photos", queryset=_public_photos(), to_attr="open311_photos"))
    events = list(qs.order_by("at", "id")[:MAX_RESULTS])
    return respond(fmt, [update_out(request, e) for e in events], root="service_requests_updates",
                   item="request_update")


def unknown(request, *args, **kwargs):
    """Any other path below /open311/v2/ (or an unsupported format suffix)."""
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return error_response(fmt, 404, _t("没有这个资源（支持 .json 和 .xml）",
                                       "Resource not found (formats: .json and .xml)"))

