"""Local servers speaking two Korean Kakao dealers' wire formats, checking what the dealers
check (paths, headers, signature, body fields, Kakao's limits) and answering as they answer:
NAVER Cloud SENS (AlimTalk, SMS/LMS) and NHN Cloud KakaoTalk Bizmessage v2.3."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NATIONAL_MOBILE = re.compile(r"01[016789][0-9]{7,8}")
BUTTON_LINKS = {
    "sens": {"WL": ("linkMobile",), "AL": ("schemeAndroid", "schemeIos")},
    "nhn": {"WL": ("linkMo",), "AL": ("schemeAndroid", "schemeIos")},
}


def euc_kr_bytes(text: str) -> int:
    return len(text.encode("euc_kr", errors="replace"))


def template_matches(template: str, content: str) -> bool:
    """SENS compares the content with the approved template, each #{var} standing for any text."""
    parts = re.split(r"#\{[^{}]+\}", template)
    return re.fullmatch("(?s)" + "(.*?)".join(re.escape(p) for p in parts), content) is not None


# Kakao's lengths for an AlimTalk's emphasized parts, as the dealers check them (characters).
PART_LIMITS = {"title": 50, "header": 16, "highlight.title": 30, "highlight.description": 19,
               "item.title": 6, "item.description": 23, "summary.title": 6, "summary.description": 14}


def parts_problem(parts: dict, sent: dict, matches) -> str:
    """Why the `sent` parts (Kakao's terms, filled) do not fit the template's `parts`: a part the
    template lacks, a missing one, text that is not the template's, or over Kakao's length."""
    kind = parts.get("type", "NONE")
    if sent.get("title") is not None and kind != "TEXT":
        return "title: available only in highlight type templates"
    if any(sent.get(k) is not None for k in ("header", "highlight", "items", "summary")) and kind != "ITEM_LIST":
        return "item, itemHighlight, headerContent: available only in item list type templates"
    pairs = [("title", parts.get("title"), sent.get("title")), ("header", parts.get("header"), sent.get("header"))]
    for name in ("highlight", "summary"):
        for key in ("title", "description"):
            pairs.append((f"{name}.{key}", (parts.get(name) or {}).get(key), (sent.get(name) or {}).get(key)))
    wanted_items, items = parts.get("items") or [], sent.get("items") or []
    if kind == "ITEM_LIST" and (len(items) != len(wanted_items) or not 2 <= len(items) <= 10):
        return f"item.list: {len(wanted_items)} items in the template (2 to 10), {len(items)} sent"
    for want, got in zip(wanted_items, items, strict=False):
        for key in ("title", "description"):
            pairs.append((f"item.{key}", want.get(key), (got or {}).get(key)))
    for where, want, got in pairs:
        if want is None or where == "subtitle":
            continue
        if not isinstance(got, str) or not matches(want, got):
            return f"{where} does not match the template"
        if len(got) > PART_LIMITS[where]:
            return f"{where}: at most {PART_LIMITS[where]} characters"
    return ""


def button_problem(buttons, dealer: str, allow_ac: bool = True) -> str:
    if not isinstance(buttons, list) or len(buttons) > 5:
        return "buttons: at most 5"
    for b in buttons:
        if b.get("type") not in ("WL", "AL", "BK", "MD", "AC") or (b["type"] == "AC" and not allow_ac):
            return f"button type {b.get('type')} not allowed"
        if not b.get("name") or len(b["name"]) > 14:
            return "button name required, at most 14 characters"
        for needed in BUTTON_LINKS[dealer].get(b["type"], ()):
            if not b.get(needed):
                return f"{b['type']} button needs {needed}"
    return ""


@dataclass
class Dealer:
    """Shared state: what was accepted, who has KakaoTalk, and canned failures to answer with."""

    kakao_users: set = field(default_factory=set)  # national numbers with KakaoTalk
    in_flight: set = field(default_factory=set)  # numbers whose result is not in yet
    templates: dict = field(default_factory=dict)  # templateCode → approved text
    # templateCode → the template's type and parts beyond its body, in Kakao's terms:
    # {"type": "TEXT", "title", "subtitle"?} or {"type": "ITEM_LIST", "header"?, "highlight"?:
    # {title, description}, "items": [{title, description}, …], "summary"?: {title, description}}.
    emphasized: dict = field(default_factory=dict)
    pending: dict = field(default_factory=dict)  # templateCode → (name, text, buttons) in review
    fail_next: list = field(default_factory=list)  # (status, body) answered before checking
    lose_answers: int = 0  # requests handled whose answer is lost on the way back (a 504)
    accepted: list = field(default_factory=list)  # the messages the dealer took
    sms: list = field(default_factory=list)  # SMS/LMS it sent (directly or as failover)
    results: dict = field(default_factory=dict)  # requestId → [per-recipient results]
    listed: list = field(default_factory=list)  # SENS: what its list endpoints show, per message
    requests: list = field(default_factory=list)  # (method, path, headers, body)
    url: str = ""


class _Server:
    def __init__(self, dealer: Dealer, handle):
        self.dealer = dealer

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                dealer.requests.append((self.command, self.path, headers, raw))
                if dealer.fail_next:
                    status, body = dealer.fail_next.pop(0)
                else:
                    status, body = handle(self.command, parts.path, parts.query, headers, raw)
                if dealer.lose_answers:
                    dealer.lose_answers -= 1
                    status, body = 504, {"error": "Gateway Timeout"}
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _any

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        dealer.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- NAVER Cloud SENS ------------------------------------------------------------------------
def _gateway_error(status: int, code: str, message: str):
    return status, {"error": {"errorCode": code, "message": message, "details": message}}


# A template's type and parts in each dealer's own field names: Kakao's term → (SENS, NHN).
PART_NAMES = {
    "type": ("emphasizeType", "templateEmphasizeType"),
    "title": ("emphasizeTitle", "templateTitle"),
    "subtitle": ("emphasizeSubTitle", "templateSubtitle"),
    "header": ("header", "templateHeader"),
    "highlight": ("itemHighlight", "templateItemHighlight"),
    "item": ("item", "templateItem"),
}


def dealer_parts(parts: dict | None, column: int) -> dict:
    """A template's type and parts (Kakao's terms) as a dealer lists them."""
    parts = parts or {}
    names = {k: v[column] for k, v in PART_NAMES.items()}
    row = {names["type"]: parts.get("type", "NONE")}
    if parts.get("type") == "TEXT":
        row.update({names["title"]: parts["title"], names["subtitle"]: parts.get("subtitle", "")})
    if parts.get("type") == "ITEM_LIST":
        row.update({names["header"]: parts.get("header"), names["highlight"]: parts.get("highlight"),
                    names["item"]: {"list": parts["items"], "summary": parts.get("summary")}})
    return row


def parts_of(body: dict, column: int) -> dict:
    """A template registration's type and parts, in Kakao's terms."""
    get = {k: body.get(v[column]) for k, v in PART_NAMES.items()}
    kind = get["type"] or "NONE"
    if kind == "TEXT":
        return {"type": kind, "title": get["title"], "subtitle": get["subtitle"]}
    if kind == "ITEM_LIST":
        item = get["item"] or {}
        return {"type": kind, "header": get["header"], "highlight": get["highlight"],
                "items": item.get("list"), "summary": item.get("summary")}
    return {"type": kind}


def sens_template(code, name, text, status, buttons, parts=None):
    return {"templateCode": code, "templateName": name, "content": text, "channelId": "@shop",
            "templateInspectionStatus": status, "buttons": buttons, **dealer_parts(parts, 0)}


def registration_problem(parts: dict) -> str:
    """What Kakao's review refuses outright in a template's type and parts."""
    kind = parts["type"]
    if kind not in ("NONE", "TEXT", "IMAGE", "ITEM_LIST"):
        return f"emphasizeType {kind} is not one of NONE, TEXT, IMAGE, ITEM_LIST"
    if kind == "TEXT" and not parts.get("title"):
        return "a TEXT template needs its title"
    if kind == "ITEM_LIST" and not (isinstance(parts.get("items"), list) and 2 <= len(parts["items"]) <= 10):
        return "an ITEM_LIST template needs 2 to 10 items"
    return ""


def sens_server(dealer: Dealer, *, access_key, secret_key, service_id, sms_service_id,
                plus_friend_id, sms_from) -> _Server:
    def handle(method, path, query, headers, raw):
        uri = path + (f"?{query}" if query else "")
        timestamp = headers.get("x-ncp-apigw-timestamp", "")
        if headers.get("x-ncp-iam-access-key") != access_key:
            return _gateway_error(401, "200", "Authentication Failed")
        if not timestamp.isdigit() or abs(int(timestamp) - time.time() * 1000) > 5 * 60 * 1000:
            return _gateway_error(401, "300", "Timestamp is expired or invalid")
        expected = base64.b64encode(hmac.new(
            secret_key.encode(), f"{method} {uri}\n{timestamp}\n{access_key}".encode(), hashlib.sha256
        ).digest()).decode()
        if headers.get("x-ncp-apigw-signature-v2") != expected:
            return _gateway_error(401, "200", "Signature mismatch")
        if method == "GET" and path == f"/alimtalk/v2/services/{service_id}/templates":
            if parse_qs(query).get("channelId") != [plus_friend_id]:
                return 400, {"status": 400, "errorMessage": "channelId does not match"}
            return 200, [sens_template(code, "approved", text, "APR", [], dealer.emphasized.get(code))
                         for code, text in dealer.templates.items()] + [
                sens_template(code, name, text, "REQ", buttons, dealer.emphasized.get(code))
                for code, (name, text, buttons) in dealer.pending.items()]
        if method == "POST" and path == f"/alimtalk/v2/services/{service_id}/templates":
            body = json.loads(raw)
            code = body.get("templateCode") or ""
            if body.get("channelId") != plus_friend_id or not body.get("content") or not body.get("templateName"):
                return 400, {"status": 400, "errorMessage": "channelId, templateName and content are required"}
            if code in dealer.templates or code in dealer.pending:
                return 400, {"status": 400, "errorMessage": f"templateCode {code} already exists"}
            if problem := button_problem([{k: v for k, v in b.items() if k != "order"}
                                          for b in body.get("buttons") or []], "sens"):
                return 400, {"status": 400, "errorMessage": problem}
            if problem := registration_problem(parts_of(body, 0)):
                return 400, {"status": 400, "errorMessage": problem}
            dealer.pending[code] = (body["templateName"], body["content"], body.get("buttons") or [])
            dealer.emphasized[code] = parts_of(body, 0)
            return 200, sens_template(code, body["templateName"], body["content"], "REG", body.get("buttons") or [])
        if method == "POST" and path == f"/alimtalk/v2/services/{service_id}/messages":
            return alimtalk(json.loads(raw))
        if method == "POST" and path == f"/sms/v2/services/{sms_service_id}/messages":
            return sms(json.loads(raw))
        if method == "GET" and path in (
            f"/alimtalk/v2/services/{service_id}/messages", f"/sms/v2/services/{sms_service_id}/messages"
        ):
            params = {k: v[0] for k, v in parse_qs(query).items()}
            if "requestId" not in params:
                return sens_list(path, params)
            request_id = params["requestId"]
            if request_id not in dealer.results:
                return 404, {}
            return 200, {"requestId": request_id, "statusCode": "202", "statusName": "success",
                         "messages": dealer.results[request_id]}
        return _gateway_error(404, "300", "Not Found Exception")

    def sens_list(path, params):
        """The list endpoints without a requestId: a request-time window (≤ 31 days, KST) is
        required, and plusFriendId for AlimTalk; an empty 404 when nothing matches."""
        alimtalk_list = path.startswith("/alimtalk/")
        try:
            start, end = (time.mktime(time.strptime(params[k], "%Y-%m-%d %H:%M:%S"))
                          for k in ("requestStartTime", "requestEndTime"))
        except (KeyError, ValueError):
            return 400, {"status": 400, "errorMessage": "requestStartTime and requestEndTime (YYYY-MM-DD HH:mm:ss) are required"}
        if not 0 <= end - start <= 31 * 86400:
            return 400, {"status": 400, "errorMessage": "the period must be within 31 days"}
        if alimtalk_list and params.get("plusFriendId") != plus_friend_id:
            return 400, {"status": 400, "errorMessage": "plusFriendId is required"}
        rows = [row for row in dealer.listed
                if row["product"] == ("alimtalk" if alimtalk_list else "sms")
                and start <= row["at"] <= end
                and all(row.get(k) == params[k] for k in ("to", "templateCode") if k in params)]
        if not rows:
            return 404, {}
        keep = ("requestId", "messageId", "requestTime", "to", "content", "templateCode", "requestStatusCode")
        return 200, {"statusCode": "202", "statusName": "success", "pageIndex": 0,
                     "itemCount": len(rows), "hasMore": False,
                     "messages": [{k: row[k] for k in keep if k in row} for row in rows]}

    def listed(product, request_id, to, content, **extra):
        # Request times in KST, as SENS shows and filters them.
        at = time.mktime(time.gmtime(time.time() + 9 * 3600))
        dealer.listed.append({"product": product, "requestId": request_id, "messageId": uuid.uuid4().hex,
                              "requestTime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)),
                              "at": at, "to": to, "content": content, **extra})

    def alimtalk(body):
        if body.get("plusFriendId") != plus_friend_id:
            return 400, {"status": 400, "errorMessage": "plusFriendId is not registered"}
        if body.get("templateCode") in dealer.pending:
            return 400, {"status": 400, "errorMessage": "template is not approved"}
        template = dealer.templates.get(body.get("templateCode"))
        if template is None:
            return 400, {"status": 400, "errorMessage": "templateCode not found"}
        messages = body.get("messages") or []
        if not 1 <= len(messages) <= 100:
            return 400, {"status": 400, "errorMessage": "messages: 1 to 100"}
        request_id = "R-" + uuid.uuid4().hex
        answers, results = [], []
        for m in messages:
            content, to = m.get("content") or "", m.get("to") or ""
            if len(content) > 1000 or not template_matches(template, content):
                return 400, {"status": 400, "errorMessage": "content does not match the template"}
            if problem := button_problem(m.get("buttons") or [], "sens"):
                return 400, {"status": 400, "errorMessage": problem}
            item = m.get("item") or {}
            sent = {"title": m.get("title"), "header": m.get("headerContent"), "highlight": m.get("itemHighlight"),
                    "items": item.get("list"), "summary": item.get("summary")}
            if problem := parts_problem(dealer.emphasized.get(body["templateCode"]) or {}, sent, template_matches):
                return 400, {"status": 400, "errorMessage": problem}
            failover = m.get("failoverConfig") if m.get("useSmsFailover") else None
            if failover is not None:
                kind, text = failover.get("type"), failover.get("content") or content
                if failover.get("from") != sms_from or kind not in ("SMS", "LMS"):
                    return 400, {"status": 400, "errorMessage": "failoverConfig.from/type invalid"}
                if kind == "SMS" and euc_kr_bytes(text) > 90:
                    return 400, {"status": 400, "errorMessage": "failoverConfig.content over 90 bytes for SMS"}
            message_id = uuid.uuid4().hex
            if not NATIONAL_MOBILE.fullmatch(to):
                answers.append({"messageId": message_id, "to": to, "requestStatusCode": "E001",
                                "requestStatusName": "fail", "requestStatusDesc": "Invalid recipient number"})
                continue
            answers.append({"messageId": message_id, "to": to, "countryCode": "82",
                            "requestStatusCode": "A000", "requestStatusName": "success",
                            "requestStatusDesc": "accepted", "useSmsFailover": bool(failover)})
            dealer.accepted.append({"to": to, "content": content, "buttons": m.get("buttons"),
                                    **{k: v for k, v in sent.items() if v is not None}})
            listed("alimtalk", request_id, to, content, templateCode=body.get("templateCode"),
                   requestStatusCode="A000")
            result = {"messageId": message_id, "to": to, "requestStatusCode": "A000",
                      "useSmsFailover": bool(failover)}
            if to in dealer.in_flight:
                result.update(messageStatusName="processing")
            elif to in dealer.kakao_users:
                result.update(messageStatusCode="0000", messageStatusName="success",
                              messageStatusDesc="delivered")
            else:
                result.update(messageStatusCode="3019", messageStatusName="fail",
                              messageStatusDesc="Not a KakaoTalk user")
                if failover is not None:
                    dealer.sms.append({"to": to, "type": failover["type"],
                                       "content": failover.get("content") or content})
                    result.update(failoverStatusCode="0", failoverStatusName="success")
            results.append(result)
        dealer.results[request_id] = results
        return 202, {"requestId": request_id, "requestTime": time.strftime("%Y-%m-%dT%H:%M:%S"),
                     "statusCode": "202", "statusName": "success", "messages": answers}

    def sms(body):
        kind, content = body.get("type"), body.get("content") or ""
        if body.get("from") != sms_from:
            return 400, {"status": 400, "errorMessage": "from is not a registered calling number"}
        limit = {"SMS": 90, "LMS": 2000}.get(kind)
        if limit is None or euc_kr_bytes(content) > limit:
            return 400, {"status": 400, "errorMessage": f"content over {limit} bytes for {kind}"}
        request_id = "S-" + uuid.uuid4().hex
        dealer.results[request_id] = []
        for m in body.get("messages") or []:
            if not NATIONAL_MOBILE.fullmatch(m.get("to") or ""):
                return 400, {"status": 400, "errorMessage": "invalid to"}
            dealer.sms.append({"to": m["to"], "type": kind, "content": content})
            listed("sms", request_id, m["to"], content)
            dealer.results[request_id].append(
                {"to": m["to"], "status": "COMPLETED", "statusCode": "0", "statusName": "success"}
            )
        return 202, {"requestId": request_id, "statusCode": "202", "statusName": "success"}

    return _Server(dealer, handle)


# ---- NHN Cloud KakaoTalk Bizmessage -------------------------------------------------------
def _nhn_header(code=0, message="success", ok=True):
    return {"header": {"resultCode": code, "resultMessage": message, "isSuccessful": ok}}


def nhn_template(code, name, text, status, buttons, parts=None):
    return {"templateCode": code, "templateName": name, "templateContent": text, "status": status,
            "buttons": buttons, **dealer_parts(parts, 1)}


def _filled(value, params: dict):
    """A template part with its #{name}s replaced by templateParameter, as NHN fills them."""
    if isinstance(value, str):
        return re.sub(r"#\{([^{}]+)\}", lambda x: str(params[x.group(1)]), value)
    if isinstance(value, dict):
        return {k: _filled(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, params) for v in value]
    return value


def nhn_server(dealer: Dealer, *, appkey, secret_key, sender_key, sms_from) -> _Server:
    seen_keys: dict = {}  # X-NC-API-IDEMPOTENCY-KEY → the first answer

    def handle(method, path, query, headers, raw):
        if path == f"/alimtalk/v2.3/appkeys/{appkey}/senders/{sender_key}/templates":
            if headers.get("x-secret-key") != secret_key:
                return 401, _nhn_header(-1, "Unauthorized secret key", False)
            return nhn_templates(method, json.loads(raw) if raw else {})
        m = re.fullmatch(
            r"/(alimtalk|friendtalk|brand-message)/(?:v2\.3|v1\.0)/appkeys/([^/]+)/messages(?:/([^/]+)/(\d+))?",
            path,
        )
        if m is not None and (m.group(1) == "brand-message") != path.startswith("/brand-message/v1.0/"):
            m = None  # Brand Message is v1.0, AlimTalk and FriendTalk v2.3
        if m is None or m.group(2) != appkey:
            return 404, _nhn_header(-1, "Not found", False)
        if headers.get("x-secret-key") != secret_key:
            return 401, _nhn_header(-1, "Unauthorized secret key", False)
        if method == "GET" and m.group(3):
            result = dealer.results.get(m.group(3))
            if result is None:
                return 200, _nhn_header(-1007, "requestId not found", False)
            return 200, {**_nhn_header(), "message": result}
        if headers.get("content-type", "").replace(" ", "").lower() != "application/json;charset=utf-8":
            return 415, _nhn_header(-1, "Content-Type must be application/json;charset=UTF-8", False)
        key = headers.get("x-nc-api-idempotency-key")
        if key and key in seen_keys:
            return seen_keys[key]
        body = json.loads(raw)
        answer = brand_message(body) if m.group(1) == "brand-message" else send(m.group(1), body)
        if key:
            seen_keys[key] = answer
        return answer

    def nhn_templates(method, body):
        if method == "GET":
            rows = [nhn_template(code, "approved", text, "TSC03", [], dealer.emphasized.get(code))
                    for code, text in dealer.templates.items()]
            rows += [nhn_template(code, name, text, "TSC01", buttons, dealer.emphasized.get(code))
                     for code, (name, text, buttons) in dealer.pending.items()]
            return 200, {**_nhn_header(), "templateListResponse": {"templates": rows, "totalCount": len(rows)}}
        code = body.get("templateCode") or ""
        if not body.get("templateContent") or not body.get("templateName"):
            return 200, _nhn_header(-3001, "templateName and templateContent are required", False)
        if code in dealer.templates or code in dealer.pending:
            return 200, _nhn_header(-3002, f"templateCode {code} already exists", False)
        if problem := button_problem(body.get("buttons") or [], "nhn"):
            return 200, _nhn_header(-2003, problem, False)
        if problem := registration_problem(parts_of(body, 1)):
            return 200, _nhn_header(-3003, problem, False)
        dealer.pending[code] = (body["templateName"], body["templateContent"], body.get("buttons") or [])
        dealer.emphasized[code] = parts_of(body, 1)
        return 200, _nhn_header()

    def brand_message(body):
        """A free-form Brand Message: the content is the request's; recipients only say whom."""
        if body.get("senderKey") != sender_key:
            return 200, _nhn_header(-1002, "Invalid senderKey", False)
        kind, content = body.get("chatBubbleType"), body.get("content") or ""
        limit = {"TEXT": 1300, "IMAGE": 400}.get(kind)
        if limit is None or not content or len(content) > limit:
            return 200, _nhn_header(-2001, f"{kind}: content 1 to {limit} characters", False)
        if kind == "IMAGE" and not (body.get("image") or {}).get("imageUrl"):
            return 200, _nhn_header(-2006, "image.imageUrl is required for IMAGE", False)
        if problem := button_problem(body.get("buttons") or [], "nhn", allow_ac=False):
            return 200, _nhn_header(-2003, problem, False)
        request_id = uuid.uuid4().hex[:20]
        send_results = []
        for seq, r in enumerate(body.get("recipientList") or [], start=1):
            number = r.get("recipientNo") or ""
            if r.get("targeting") not in ("M", "N", "I"):
                return 200, _nhn_header(-2007, "targeting must be M, N or I", False)
            send_results.append({"recipientSeq": seq, "recipientNo": number, "resultCode": 0,
                                 "resultMessage": "success"})
            dealer.accepted.append({"product": "brand-message", "to": number, "content": content,
                                    "image": body.get("image"), "buttons": body.get("buttons"),
                                    "targeting": r["targeting"]})
            delivered = number in dealer.kakao_users
            dealer.results[request_id] = {
                "requestId": request_id, "recipientSeq": seq, "recipientNo": number,
                "messageStatus": "COMPLETED" if delivered else "FAILED",
                "resultCode": "1000" if delivered else "3018",
                "resultCodeName": "Success" if delivered else "Not a KakaoTalk user",
            }
        return 200, {**_nhn_header(), "message": {"requestId": request_id, "sendResults": send_results}}

    def send(product, body):
        if body.get("senderKey") != sender_key:
            return 200, _nhn_header(-1002, "Invalid senderKey", False)
        recipients = body.get("recipientList") or []
        if not 1 <= len(recipients) <= 1000:
            return 200, _nhn_header(-1003, "recipientList: 1 to 1000", False)
        template = None
        if product == "alimtalk" and body.get("templateCode") in dealer.pending:
            return 200, _nhn_header(-3029, "Template is not approved", False)
        if product == "alimtalk":
            template = dealer.templates.get(body.get("templateCode"))
            if template is None:
                return 200, _nhn_header(-3026, "Template not found", False)
        request_id = uuid.uuid4().hex[:20]
        send_results = []
        for seq, r in enumerate(recipients, start=1):
            number = r.get("recipientNo") or ""
            parts = {}
            if template is not None:
                params = r.get("templateParameter") or {}
                # NHN fills every #{name} of the template: its body and its title or item list.
                whole = json.dumps([template, dealer.emphasized.get(body["templateCode"]) or {}], ensure_ascii=False)
                missing = [n for n in re.findall(r"#\{([^{}]+)\}", whole) if n not in params]
                if missing:
                    return 200, _nhn_header(-3027, f"templateParameter missing {missing}", False)
                content = _filled(template, params)
                parts = _filled(dealer.emphasized.get(body["templateCode"]) or {}, params)
                if problem := parts_problem(parts, {k: v for k, v in parts.items() if k not in ("type", "subtitle")},
                                            lambda want, got: want == got):
                    return 200, _nhn_header(-3031, problem, False)
            else:
                content = r.get("content") or ""
                limit = 400 if r.get("imageUrl") else 1000
                if not content or len(content) > limit:
                    return 200, _nhn_header(-2001, f"content: 1 to {limit} characters", False)
                if not isinstance(r.get("isAd"), bool):
                    return 200, _nhn_header(-2002, "isAd must be a boolean", False)
                if r["isAd"]:
                    content = "(광고) " + content  # Kakao's ad marker, added by the dealer
            if problem := button_problem(r.get("buttons") or [], "nhn", allow_ac=template is not None):
                return 200, _nhn_header(-2003, problem, False)
            resend = r.get("resendParameter")
            if resend and resend.get("isResend"):
                if resend.get("resendSendNo") != sms_from or resend.get("resendType") not in ("SMS", "LMS"):
                    return 200, _nhn_header(-2004, "resendSendNo/resendType invalid", False)
                if resend["resendType"] == "SMS" and euc_kr_bytes(resend.get("resendContent") or "") > 90:
                    return 200, _nhn_header(-2005, "resendContent over 90 bytes for SMS", False)
            if not NATIONAL_MOBILE.fullmatch(number):
                send_results.append({"recipientSeq": seq, "recipientNo": number,
                                     "resultCode": -1005, "resultMessage": "Invalid recipientNo"})
                continue
            send_results.append({"recipientSeq": seq, "recipientNo": number,
                                 "resultCode": 0, "resultMessage": "success"})
            dealer.accepted.append({"product": product, "to": number, "content": content,
                                    "buttons": r.get("buttons"), "isAd": r.get("isAd"),
                                    **{k: v for k, v in parts.items() if k not in ("type", "subtitle")}})
            result = {"requestId": request_id, "recipientSeq": seq, "recipientNo": number,
                      "content": content}
            if number in dealer.kakao_users:
                result.update(messageStatus="COMPLETED", resultCode="1000", resultCodeName="Success")
            else:
                result.update(messageStatus="FAILED", resultCode="3018",
                              resultCodeName="Not a KakaoTalk user", resendStatus="RSC01")
                if resend and resend.get("isResend"):
                    dealer.sms.append({"to": number, "type": resend["resendType"],
                                       "content": resend.get("resendContent")})
                    result["resendStatus"] = "RSC03"
            dealer.results[request_id] = result
        return 200, {**_nhn_header(), "message": {"requestId": request_id, "senderGroupingKey": None,
                                                  "sendResults": send_results}}

    return _Server(dealer, handle)
