"use strict";
(() => {
  // <define:LIMITS>
  var define_LIMITS_default = { handleMin: 2, handleMax: 64, subjectMax: 200, bodyMax: 5e4, tagsMax: 20, attachmentsMax: 10, displayNameMax: 100, descriptionMax: 500, metadataKeyMax: 50, metadataValueMax: 500, searchQueryMax: 200, pageMax: 100 };

  // node_modules/openapi-fetch/dist/index.mjs
  var PATH_PARAM_RE = /\{[^{}]+\}/g;
  var supportsRequestInitExt = () => {
    return typeof process === "object" && Number.parseInt(process?.versions?.node?.substring(0, 2)) >= 18 && process.versions.undici;
  };
  function randomID() {
    return Math.random().toString(36).slice(2, 11);
  }
  function createClient(clientOptions) {
    let {
      baseUrl = "",
      Request: CustomRequest = globalThis.Request,
      fetch: baseFetch = globalThis.fetch,
      querySerializer: globalQuerySerializer,
      bodySerializer: globalBodySerializer,
      pathSerializer: globalPathSerializer,
      headers: baseHeaders,
      requestInitExt = void 0,
      ...baseOptions
    } = { ...clientOptions };
    requestInitExt = supportsRequestInitExt() ? requestInitExt : void 0;
    baseUrl = removeTrailingSlash(baseUrl);
    const globalMiddlewares = [];
    async function coreFetch(schemaPath, fetchOptions) {
      const {
        baseUrl: localBaseUrl,
        fetch: fetch2 = baseFetch,
        Request = CustomRequest,
        headers,
        params = {},
        parseAs = "json",
        querySerializer: requestQuerySerializer,
        bodySerializer = globalBodySerializer ?? defaultBodySerializer,
        pathSerializer: requestPathSerializer,
        body,
        middleware: requestMiddlewares = [],
        ...init
      } = fetchOptions || {};
      let finalBaseUrl = baseUrl;
      if (localBaseUrl) {
        finalBaseUrl = removeTrailingSlash(localBaseUrl) ?? baseUrl;
      }
      let querySerializer = typeof globalQuerySerializer === "function" ? globalQuerySerializer : createQuerySerializer(globalQuerySerializer);
      if (requestQuerySerializer) {
        querySerializer = typeof requestQuerySerializer === "function" ? requestQuerySerializer : createQuerySerializer({
          ...typeof globalQuerySerializer === "object" ? globalQuerySerializer : {},
          ...requestQuerySerializer
        });
      }
      const pathSerializer = requestPathSerializer || globalPathSerializer || defaultPathSerializer;
      const serializedBody = body === void 0 ? void 0 : bodySerializer(
        body,
        // Note: we declare mergeHeaders() both here and below because it’s a bit of a chicken-or-egg situation:
        // bodySerializer() needs all headers so we aren’t dropping ones set by the user, however,
        // the result of this ALSO sets the lowest-priority content-type header. So we re-merge below,
        // setting the content-type at the very beginning to be overwritten.
        // Lastly, based on the way headers work, it’s not a simple “present-or-not” check becauase null intentionally un-sets headers.
        mergeHeaders(baseHeaders, headers, params.header)
      );
      const finalHeaders = mergeHeaders(
        // with no body, we should not to set Content-Type
        serializedBody === void 0 || // if serialized body is FormData; browser will correctly set Content-Type & boundary expression
        serializedBody instanceof FormData ? {} : {
          "Content-Type": "application/json"
        },
        baseHeaders,
        headers,
        params.header
      );
      const finalMiddlewares = [...globalMiddlewares, ...requestMiddlewares];
      const requestInit = {
        redirect: "follow",
        ...baseOptions,
        ...init,
        body: serializedBody,
        headers: finalHeaders
      };
      let id;
      let options;
      let request = new Request(
        createFinalURL(schemaPath, { baseUrl: finalBaseUrl, params, querySerializer, pathSerializer }),
        requestInit
      );
      let response;
      for (const key in init) {
        if (!(key in request)) {
          request[key] = init[key];
        }
      }
      if (finalMiddlewares.length) {
        id = randomID();
        options = Object.freeze({
          baseUrl: finalBaseUrl,
          fetch: fetch2,
          parseAs,
          querySerializer,
          bodySerializer,
          pathSerializer
        });
        for (const m of finalMiddlewares) {
          if (m && typeof m === "object" && typeof m.onRequest === "function") {
            const result2 = await m.onRequest({
              request,
              schemaPath,
              params,
              options,
              id
            });
            if (result2) {
              if (result2 instanceof Request) {
                request = result2;
              } else if (result2 instanceof Response) {
                response = result2;
                break;
              } else {
                throw new Error("onRequest: must return new Request() or Response() when modifying the request");
              }
            }
          }
        }
      }
      if (!response) {
        try {
          response = await fetch2(request, requestInitExt);
        } catch (error2) {
          let errorAfterMiddleware = error2;
          if (finalMiddlewares.length) {
            for (let i = finalMiddlewares.length - 1; i >= 0; i--) {
              const m = finalMiddlewares[i];
              if (m && typeof m === "object" && typeof m.onError === "function") {
                const result2 = await m.onError({
                  request,
                  error: errorAfterMiddleware,
                  schemaPath,
                  params,
                  options,
                  id
                });
                if (result2) {
                  if (result2 instanceof Response) {
                    errorAfterMiddleware = void 0;
                    response = result2;
                    break;
                  }
                  if (result2 instanceof Error) {
                    errorAfterMiddleware = result2;
                    continue;
                  }
                  throw new Error("onError: must return new Response() or instance of Error");
                }
              }
            }
          }
          if (errorAfterMiddleware) {
            throw errorAfterMiddleware;
          }
        }
        if (finalMiddlewares.length) {
          for (let i = finalMiddlewares.length - 1; i >= 0; i--) {
            const m = finalMiddlewares[i];
            if (m && typeof m === "object" && typeof m.onResponse === "function") {
              const result2 = await m.onResponse({
                request,
                response,
                schemaPath,
                params,
                options,
                id
              });
              if (result2) {
                if (!(result2 instanceof Response)) {
                  throw new Error("onResponse: must return new Response() when modifying the response");
                }
                response = result2;
              }
            }
          }
        }
      }
      const contentLength = response.headers.get("Content-Length");
      if (response.status === 204 || request.method === "HEAD" || contentLength === "0" && !response.headers.get("Transfer-Encoding")?.includes("chunked")) {
        return response.ok ? { data: void 0, response } : { error: void 0, response };
      }
      if (response.ok) {
        const getResponseData = async () => {
          if (parseAs === "stream") {
            return response.body;
          }
          if (parseAs === "json" && !contentLength) {
            const raw = await response.text();
            return raw ? JSON.parse(raw) : void 0;
          }
          return await response[parseAs]();
        };
        return { data: await getResponseData(), response };
      }
      let error = await response.text();
      try {
        error = JSON.parse(error);
      } catch {
      }
      return { error, response };
    }
    return {
      request(method, url, init) {
        return coreFetch(url, { ...init, method: method.toUpperCase() });
      },
      /** Call a GET endpoint */
      GET(url, init) {
        return coreFetch(url, { ...init, method: "GET" });
      },
      /** Call a PUT endpoint */
      PUT(url, init) {
        return coreFetch(url, { ...init, method: "PUT" });
      },
      /** Call a POST endpoint */
      POST(url, init) {
        return coreFetch(url, { ...init, method: "POST" });
      },
      /** Call a DELETE endpoint */
      DELETE(url, init) {
        return coreFetch(url, { ...init, method: "DELETE" });
      },
      /** Call a OPTIONS endpoint */
      OPTIONS(url, init) {
        return coreFetch(url, { ...init, method: "OPTIONS" });
      },
      /** Call a HEAD endpoint */
      HEAD(url, init) {
        return coreFetch(url, { ...init, method: "HEAD" });
      },
      /** Call a PATCH endpoint */
      PATCH(url, init) {
        return coreFetch(url, { ...init, method: "PATCH" });
      },
      /** Call a TRACE endpoint */
      TRACE(url, init) {
        return coreFetch(url, { ...init, method: "TRACE" });
      },
      /** Register middleware */
      use(...middleware) {
        for (const m of middleware) {
          if (!m) {
            continue;
          }
          if (typeof m !== "object" || !("onRequest" in m || "onResponse" in m || "onError" in m)) {
            throw new Error("Middleware must be an object with one of `onRequest()`, `onResponse() or `onError()`");
          }
          globalMiddlewares.push(m);
        }
      },
      /** Unregister middleware */
      eject(...middleware) {
        for (const m of middleware) {
          const i = globalMiddlewares.indexOf(m);
          if (i !== -1) {
            globalMiddlewares.splice(i, 1);
          }
        }
      }
    };
  }
  function serializePrimitiveParam(name, value, options) {
    if (value === void 0 || value === null) {
      return "";
    }
    if (typeof value === "object") {
      throw new Error(
        "Deeply-nested arrays/objects aren’t supported. Provide your own `querySerializer()` to handle these."
      );
    }
    return `${name}=${options?.allowReserved === true ? value : encodeURIComponent(value)}`;
  }
  function serializeObjectParam(name, value, options) {
    if (!value || typeof value !== "object") {
      return "";
    }
    const values = [];
    const joiner = {
      simple: ",",
      label: ".",
      matrix: ";"
    }[options.style] || "&";
    if (options.style !== "deepObject" && options.explode === false) {
      for (const k in value) {
        values.push(k, options.allowReserved === true ? value[k] : encodeURIComponent(value[k]));
      }
      const final2 = values.join(",");
      switch (options.style) {
        case "form": {
          return `${name}=${final2}`;
        }
        case "label": {
          return `.${final2}`;
        }
        case "matrix": {
          return `;${name}=${final2}`;
        }
        default: {
          return final2;
        }
      }
    }
    for (const k in value) {
      const finalName = options.style === "deepObject" ? `${name}[${k}]` : k;
      values.push(serializePrimitiveParam(finalName, value[k], options));
    }
    const final = values.join(joiner);
    return options.style === "label" || options.style === "matrix" ? `${joiner}${final}` : final;
  }
  function serializeArrayParam(name, value, options) {
    if (!Array.isArray(value)) {
      return "";
    }
    if (options.explode === false) {
      const joiner2 = { form: ",", spaceDelimited: "%20", pipeDelimited: "|" }[options.style] || ",";
      const final = (options.allowReserved === true ? value : value.map((v) => encodeURIComponent(v))).join(joiner2);
      switch (options.style) {
        case "simple": {
          return final;
        }
        case "label": {
          return `.${final}`;
        }
        case "matrix": {
          return `;${name}=${final}`;
        }
        // case "spaceDelimited":
        // case "pipeDelimited":
        default: {
          return `${name}=${final}`;
        }
      }
    }
    const joiner = { simple: ",", label: ".", matrix: ";" }[options.style] || "&";
    const values = [];
    for (const v of value) {
      if (options.style === "simple" || options.style === "label") {
        values.push(options.allowReserved === true ? v : encodeURIComponent(v));
      } else {
        values.push(serializePrimitiveParam(name, v, options));
      }
    }
    return options.style === "label" || options.style === "matrix" ? `${joiner}${values.join(joiner)}` : values.join(joiner);
  }
  function createQuerySerializer(options) {
    return function querySerializer(queryParams) {
      const search = [];
      if (queryParams && typeof queryParams === "object") {
        for (const name in queryParams) {
          const value = queryParams[name];
          if (value === void 0 || value === null) {
            continue;
          }
          if (Array.isArray(value)) {
            if (value.length === 0) {
              continue;
            }
            search.push(
              serializeArrayParam(name, value, {
                style: "form",
                explode: true,
                ...options?.array,
                allowReserved: options?.allowReserved || false
              })
            );
            continue;
          }
          if (typeof value === "object") {
            search.push(
              serializeObjectParam(name, value, {
                style: "deepObject",
                explode: true,
                ...options?.object,
                allowReserved: options?.allowReserved || false
              })
            );
            continue;
          }
          search.push(serializePrimitiveParam(name, value, options));
        }
      }
      return search.join("&");
    };
  }
  function defaultPathSerializer(pathname, pathParams) {
    let nextURL = pathname;
    for (const match of pathname.match(PATH_PARAM_RE) ?? []) {
      let name = match.substring(1, match.length - 1);
      let explode = false;
      let style = "simple";
      if (name.endsWith("*")) {
        explode = true;
        name = name.substring(0, name.length - 1);
      }
      if (name.startsWith(".")) {
        style = "label";
        name = name.substring(1);
      } else if (name.startsWith(";")) {
        style = "matrix";
        name = name.substring(1);
      }
      if (!pathParams || pathParams[name] === void 0 || pathParams[name] === null) {
        continue;
      }
      const value = pathParams[name];
      if (Array.isArray(value)) {
        nextURL = nextURL.replace(match, serializeArrayParam(name, value, { style, explode }));
        continue;
      }
      if (typeof value === "object") {
        nextURL = nextURL.replace(match, serializeObjectParam(name, value, { style, explode }));
        continue;
      }
      if (style === "matrix") {
        nextURL = nextURL.replace(match, `;${serializePrimitiveParam(name, value)}`);
        continue;
      }
      nextURL = nextURL.replace(match, style === "label" ? `.${encodeURIComponent(value)}` : encodeURIComponent(value));
    }
    return nextURL;
  }
  function defaultBodySerializer(body, headers) {
    if (body instanceof FormData) {
      return body;
    }
    if (headers) {
      const contentType = headers.get instanceof Function ? headers.get("Content-Type") ?? headers.get("content-type") : headers["Content-Type"] ?? headers["content-type"];
      if (contentType === "application/x-www-form-urlencoded") {
        return new URLSearchParams(body).toString();
      }
    }
    return JSON.stringify(body);
  }
  function createFinalURL(pathname, options) {
    let finalURL = `${options.baseUrl}${pathname}`;
    if (options.params?.path) {
      finalURL = options.pathSerializer(finalURL, options.params.path);
    }
    let search = options.querySerializer(options.params.query ?? {});
    if (search.startsWith("?")) {
      search = search.substring(1);
    }
    if (search) {
      finalURL += `?${search}`;
    }
    return finalURL;
  }
  function mergeHeaders(...allHeaders) {
    const finalHeaders = new Headers();
    for (const h2 of allHeaders) {
      if (!h2 || typeof h2 !== "object") {
        continue;
      }
      const iterator = h2 instanceof Headers ? h2.entries() : Object.entries(h2);
      for (const [k, v] of iterator) {
        if (v === null) {
          finalHeaders.delete(k);
        } else if (Array.isArray(v)) {
          for (const v2 of v) {
            finalHeaders.append(k, v2);
          }
        } else if (v !== void 0) {
          finalHeaders.set(k, v);
        }
      }
    }
    return finalHeaders;
  }
  function removeTrailingSlash(url) {
    if (url.endsWith("/")) {
      return url.substring(0, url.length - 1);
    }
    return url;
  }

  // src/api.ts
  var BASE = "/api/v1";
  var token = null;
  var unauthorized = null;
  function setToken(t) {
    token = t;
  }
  function onUnauthorized(f) {
    unauthorized = f;
  }
  function bearer() {
    return token;
  }
  function notifyUnauthorized() {
    unauthorized?.();
  }
  var api = createClient({ baseUrl: BASE });
  api.use({
    onRequest({ request }) {
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
    onResponse({ request, response }) {
      if (response.status === 401 && request.headers.has("Authorization")) notifyUnauthorized();
      return response;
    }
  });
  var ApiError = class extends Error {
    constructor(message, status, type, requestId, details2) {
      super(message);
      this.status = status;
      this.type = type;
      this.requestId = requestId;
      this.details = details2;
    }
    status;
    type;
    requestId;
    details;
  };
  async function ok(call) {
    let r;
    try {
      r = await call;
    } catch (err) {
      throw new ApiError(`The server cannot be reached (${String(err)})`, 0, "NetworkError");
    }
    if (r.response.ok && r.data !== void 0) return r.data;
    const env = r.error?.error;
    if (env) throw new ApiError(env.message, r.response.status, env.type, env.request_id, env.details);
    throw new ApiError(`HTTP ${r.response.status}`, r.response.status, "HTTPError");
  }
  function describe(err) {
    if (err instanceof ApiError) {
      const id = err.requestId ? ` (request ${err.requestId})` : "";
      return `${err.type}: ${err.message}${id}`;
    }
    return String(err);
  }

  // src/dom.ts
  function append(parent, children) {
    for (const c of children) {
      if (c === null || c === void 0 || c === false) continue;
      if (Array.isArray(c)) append(parent, c);
      else parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
  }
  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === void 0 || v === false) continue;
      if (typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === "value" && "value" in el) el.value = String(v);
      else if (k === "checked" && el instanceof HTMLInputElement) el.checked = Boolean(v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }
  function replace(el, ...children) {
    el.replaceChildren();
    append(el, children);
  }
  var dateTime = new Intl.DateTimeFormat(void 0, { dateStyle: "medium", timeStyle: "short" });
  var relative = new Intl.RelativeTimeFormat(void 0, { numeric: "auto" });
  function ago(iso, now = Date.now()) {
    const s = Math.round((new Date(iso).getTime() - now) / 1e3);
    const a = Math.abs(s);
    if (a < 45) return relative.format(s, "second");
    if (a < 2700) return relative.format(Math.round(s / 60), "minute");
    if (a < 79200) return relative.format(Math.round(s / 3600), "hour");
    if (a < 216e4) return relative.format(Math.round(s / 86400), "day");
    return dateTime.format(new Date(iso));
  }
  function time(iso, rel = true) {
    const full = dateTime.format(new Date(iso));
    return h("time", { datetime: iso, title: full }, rel ? ago(iso) : full);
  }
  function handles(text) {
    return text.split(/[\s,;]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
  }
  function field(form, name) {
    const el = form.elements.namedItem(name);
    return el && "value" in el ? String(el.value).trim() : "";
  }
  function checked(form, name) {
    const el = form.elements.namedItem(name);
    return el instanceof HTMLInputElement && el.checked;
  }
  async function busy(form, work) {
    const controls = Array.from(form.elements).filter((e) => "disabled" in e && !e.disabled);
    controls.forEach((c) => c.disabled = true);
    form.setAttribute("aria-busy", "true");
    try {
      return await work();
    } finally {
      controls.forEach((c) => c.disabled = false);
      form.removeAttribute("aria-busy");
    }
  }

  // src/limits.ts
  var limits = define_LIMITS_default;

  // src/router.ts
  function currentRoute() {
    const raw = location.hash.replace(/^#\/?/, "");
    const [path = "", q = ""] = raw.split("?", 2);
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    return { parts: parts.length ? parts : ["threads"], query: new URLSearchParams(q) };
  }
  function link(parts, query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
    const qs = q.toString();
    return `#/${parts.map(encodeURIComponent).join("/")}${qs ? `?${qs}` : ""}`;
  }
  function go(href) {
    if (location.hash === href) window.dispatchEvent(new HashChangeEvent("hashchange"));
    else location.hash = href;
  }

  // src/agents.ts
  function agentsView(ctx) {
    const status = h("p", { class: "status", role: "status" });
    const error = h("p", { class: "error", role: "alert" });
    const secretBox = h("div", { class: "secret-box", hidden: true });
    const body = h("tbody");
    let agents = [];
    let confirming;
    const form = h(
      "form",
      {
        class: "stack",
        "aria-labelledby": "new-agent-heading",
        onsubmit: (e) => {
          e.preventDefault();
          void busy(form, async () => {
            error.textContent = "";
            try {
              const r = await ok(
                api.POST("/admin/agents", {
                  body: { handle: field(form, "handle").toLowerCase(), display_name: field(form, "display_name") || void 0, is_admin: checked(form, "is_admin") }
                })
              );
              form.reset();
              showSecret(r.agent.handle, r.agent_secret, "created");
              await load2();
            } catch (err) {
              error.textContent = describe(err);
            }
          });
        }
      },
      h("h3", { id: "new-agent-heading" }, "New agent"),
      h("label", null, "Handle", h("input", { name: "handle", required: true, autocomplete: "off", spellcheck: "false", "aria-describedby": "handle-hint" })),
      h("p", { id: "handle-hint", class: "hint" }, `${limits.handleMin}–${limits.handleMax} characters of a-z 0-9 . _ -`),
      h("label", null, "Display name", h("input", { name: "display_name", maxlength: String(limits.displayNameMax) })),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "is_admin" }), "Admin"),
      error,
      h("button", { type: "submit" }, "Create agent")
    );
    function showSecret(handle, secret, what) {
      const input = h("input", { id: "new-secret", readonly: true, value: secret, class: "mono", spellcheck: "false", autocomplete: "off" });
      const copied = h("span", { role: "status", class: "hint" });
      replace(
        secretBox,
        h("h3", { id: "secret-heading" }, `Secret for ${handle}`),
        h("p", null, `The agent was ${what}. This is the only time its secret is shown: store it now.`),
        h("label", { for: "new-secret" }, "Secret"),
        h(
          "div",
          { class: "row" },
          input,
          h(
            "button",
            {
              type: "button",
              onclick: async () => {
                input.select();
                try {
                  await navigator.clipboard.writeText(secret);
                  copied.textContent = "Copied.";
                } catch {
                  copied.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
                }
              }
            },
            "Copy"
          ),
          copied
        ),
        h("button", { type: "button", class: "secondary", onclick: () => (secretBox.hidden = true, replace(secretBox)) }, "Done, hide it")
      );
      secretBox.hidden = false;
      input.focus();
      input.select();
    }
    async function load2() {
      status.textContent = "Loading agents…";
      try {
        const all = [];
        for (let offset = 0; offset < 1e4; offset += limits.pageMax) {
          const r = await ok(api.GET("/admin/agents", { params: { query: { limit: limits.pageMax, offset } } }));
          all.push(...r.agents);
          if (!r.pagination.has_more) break;
        }
        agents = all;
        status.textContent = `${agents.length} registered agent${agents.length === 1 ? "" : "s"}`;
        render();
      } catch (err) {
        status.textContent = describe(err);
      }
    }
    async function act(label, work) {
      error.textContent = "";
      confirming = void 0;
      try {
        await work();
        ctx.announce(label);
        await load2();
      } catch (err) {
        error.textContent = describe(err);
      }
    }
    function confirmButton(key, label, confirmLabel, run) {
      const waiting = confirming === key;
      return h(
        "button",
        {
          type: "button",
          class: waiting ? "danger" : "link",
          onclick: () => {
            if (confirming === key) run();
            else {
              confirming = key;
              render();
              body.querySelector(`[data-key="${key}"]`)?.focus();
            }
          },
          "data-key": key
        },
        waiting ? confirmLabel : label
      );
    }
    function render() {
      const me = ctx.session.handle;
      replace(
        body,
        agents.map((a) => {
          const p = { params: { path: { handle: a.handle } } };
          return h(
            "tr",
            { class: a.disabled ? "inactive" : "" },
            h("th", { scope: "row" }, a.handle),
            h("td", null, a.display_name ?? ""),
            h("td", null, a.is_admin ? h("span", { class: "chip admin" }, "admin") : "agent"),
            h("td", null, a.disabled ? h("span", { class: "chip danger-chip" }, "disabled") : "enabled"),
            h("td", null, time(a.created_at)),
            h(
              "td",
              { class: "actions" },
              h(
                "button",
                {
                  type: "button",
                  class: "link",
                  disabled: a.handle === me,
                  "aria-label": `${a.disabled ? "Enable" : "Disable"} ${a.handle}`,
                  onclick: () => void act(`${a.disabled ? "Enabled" : "Disabled"} ${a.handle}`, () => ok(api.PATCH("/admin/agents/{handle}", { ...p, body: { disabled: !a.disabled } })))
                },
                a.disabled ? "Enable" : "Disable"
              ),
              h(
                "button",
                {
                  type: "button",
                  class: "link",
                  disabled: a.handle === me,
                  "aria-label": `${a.is_admin ? "Demote" : "Promote"} ${a.handle}`,
                  onclick: () => void act(`${a.is_admin ? "Demoted" : "Promoted"} ${a.handle}`, () => ok(api.PATCH("/admin/agents/{handle}", { ...p, body: { is_admin: !a.is_admin } })))
                },
                a.is_admin ? "Demote" : "Promote"
              ),
              confirmButton(
                `rotate-${a.handle}`,
                "Rotate secret",
                `Confirm: new secret for ${a.handle}`,
                () => void act(`Rotated the secret of ${a.handle}`, async () => {
                  const r = await ok(api.POST("/admin/agents/{handle}/rotate-secret", p));
                  showSecret(a.handle, r.agent_secret, "given a new secret; its old secret and tokens no longer work");
                })
              ),
              confirmButton(
                `revoke-${a.handle}`,
                "Revoke tokens",
                `Confirm: end ${a.handle}'s tokens`,
                () => void act(`Revoked the tokens of ${a.handle}`, () => ok(api.POST("/admin/agents/{handle}/revoke-tokens", p)))
              ),
              h("a", { href: link(["audit"], { actor: a.handle }), "aria-label": `Audit events by ${a.handle}` }, "Audit")
            )
          );
        })
      );
    }
    void load2();
    const el = h(
      "section",
      { class: "page", "aria-labelledby": "agents-heading" },
      h("h2", { id: "agents-heading", tabindex: "-1" }, "Agents"),
      secretBox,
      status,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          null,
          h("caption", { class: "visually-hidden" }, "Registered agents"),
          h("thead", null, h("tr", null, ["Handle", "Name", "Role", "State", "Created", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
          body
        )
      ),
      form
    );
    return { el, title: "Agents" };
  }

  // src/audit.ts
  var TYPES = [
    "thread_create",
    "message_send",
    "message_reply",
    "address_book_add",
    "address_book_update",
    "thread_metadata_update",
    "agent_create",
    "agent_update",
    "agent_secret_rotate",
    "agent_tokens_revoke",
    "token_issue_failure"
  ];
  function auditView(ctx, route) {
    const q = route.query;
    const status = h("p", { class: "status", role: "status" });
    const body = h("tbody");
    const more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => void load2(true) }, "Load more events");
    let events = [];
    const form = h(
      "form",
      {
        class: "filters",
        "aria-label": "Filter audit events",
        onsubmit: (e) => {
          e.preventDefault();
          location.hash = link(["audit"], { type: field(form, "type"), actor: field(form, "actor").toLowerCase(), target: field(form, "target").toLowerCase() });
        }
      },
      h(
        "label",
        null,
        "Event type",
        h("select", { name: "type" }, h("option", { value: "" }, "Any"), TYPES.map((t) => h("option", { value: t, selected: q.get("type") === t }, t)))
      ),
      h("label", null, "Actor", h("input", { name: "actor", value: q.get("actor") ?? "", autocomplete: "off", spellcheck: "false" })),
      h("label", null, "Target", h("input", { name: "target", value: q.get("target") ?? "", autocomplete: "off", spellcheck: "false" })),
      h("button", { type: "submit" }, "Filter")
    );
    async function load2(append2 = false) {
      status.textContent = "Loading audit events…";
      try {
        const r = await ok(
          api.GET("/audit/events", {
            params: {
              query: {
                event_type: q.get("type") || void 0,
                actor_handle: q.get("actor") || void 0,
                target_handle: q.get("target") || void 0,
                limit: limits.pageMax,
                offset: append2 ? events.length : 0
              }
            }
          })
        );
        events = append2 ? events.concat(r.events) : r.events;
        status.textContent = `${events.length} of ${r.pagination.total} event${r.pagination.total === 1 ? "" : "s"}`;
        more.hidden = !r.pagination.has_more;
        replace(
          body,
          events.map(
            (ev) => h(
              "tr",
              null,
              h("td", null, time(ev.timestamp)),
              h("th", { scope: "row" }, ev.event_type),
              h("td", null, ev.actor_handle ?? "—"),
              h("td", null, ev.target_handles.length > 0 ? ev.target_handles.join(", ") : "—"),
              h("td", null, details(ev.details))
            )
          )
        );
      } catch (err) {
        status.textContent = describe(err);
      }
    }
    void load2();
    const el = h(
      "section",
      { class: "page", "aria-labelledby": "audit-heading" },
      h("h2", { id: "audit-heading", tabindex: "-1" }, ctx.session.isAdmin ? "Audit log" : "Your audit trail"),
      form,
      status,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          null,
          h("caption", { class: "visually-hidden" }, "Audit events, newest first"),
          h("thead", null, h("tr", null, ["When", "Event", "Actor", "Targets", "Details"].map((c) => h("th", { scope: "col" }, c)))),
          body
        )
      ),
      more
    );
    return { el, title: "Audit" };
  }
  function details(d) {
    const out = [];
    const thread = typeof d["thread_id"] === "string" ? d["thread_id"] : void 0;
    for (const [k, v] of Object.entries(d)) {
      if (out.length) out.push(" · ");
      const text = typeof v === "string" ? v : JSON.stringify(v);
      if (k === "thread_id" && thread) out.push(h("a", { href: link(["threads", thread]) }, `thread ${text}`));
      else if (k === "message_id" && thread && typeof v === "string") out.push(h("a", { href: link(["threads", thread, v]) }, `message ${text}`));
      else out.push(`${k}: ${text}`);
    }
    return out;
  }

  // src/attachments.ts
  var units = ["KiB", "MiB", "GiB", "TiB"];
  function humanSize(n) {
    if (n < 1024) return `${n} B`;
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${new Intl.NumberFormat(void 0, { maximumFractionDigits: v < 100 ? 1 : 0 }).format(v)} ${units[i]}`;
  }
  function num(v) {
    return typeof v === "number" && Number.isFinite(v) ? v : void 0;
  }
  function uploadError(file, err) {
    const what = `${file.name} (${humanSize(file.size)}) was not uploaded`;
    if (!(err instanceof ApiError) || err.status !== 413) return `${what}: ${describe(err)}`;
    const d = err.details ?? {};
    const id = err.requestId ? `, request ${err.requestId}` : "";
    const max = num(d["max_bytes"]);
    if (d["limit"] === "max_attachment_bytes" && max !== void 0) {
      return `${what}: a file may hold at most ${humanSize(max)} (${err.type}${id})`;
    }
    const quota = num(d["quota_bytes"]);
    const left = num(d["remaining_bytes"]);
    if (d["limit"] === "attachment_quota_bytes" && quota !== void 0 && left !== void 0) {
      return `${what}: it would pass your attachment quota of ${humanSize(quota)}; ${humanSize(left)} left (${err.type}${id})`;
    }
    return `${what}: ${describe(err)}`;
  }
  async function upload(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    return ok(
      api.POST("/attachments", {
        // The form goes as it is: fetch writes the multipart body and its boundary.
        body: form,
        bodySerializer: (b) => b
      })
    );
  }
  function picker(id, onChange, onError) {
    let picks = [];
    const list = h("ul", { class: "picks", "aria-label": "Picked files", hidden: true });
    const input = h("input", {
      id: `${id}-files`,
      type: "file",
      name: "files",
      multiple: true,
      "aria-describedby": `${id}-files-hint`,
      onchange: () => {
        add(Array.from(input.files ?? []));
        input.value = "";
      }
    });
    function add(files) {
      const room = limits.attachmentsMax - picks.filter((p) => p.state !== "failed").length;
      if (files.length > room) onError(`A message carries at most ${limits.attachmentsMax} files: ${files.slice(Math.max(room, 0)).map((f) => f.name).join(", ")} not added.`);
      for (const file of files.slice(0, Math.max(room, 0))) {
        const p = { file, state: "uploading" };
        picks.push(p);
        upload(file).then(
          (a) => {
            p.state = "ready";
            p.attachment = a;
          },
          (err) => {
            p.state = "failed";
            if (picks.includes(p)) onError(uploadError(file, err));
          }
        ).finally(render);
      }
      render();
    }
    function remove(p) {
      picks = picks.filter((x) => x !== p);
      render();
      input.focus();
    }
    function render() {
      list.hidden = picks.length === 0;
      replace(
        list,
        picks.map(
          (p) => h(
            "li",
            { class: `pick ${p.state}` },
            h("span", { class: "name" }, p.file.name),
            h("span", { class: "meta" }, humanSize(p.file.size)),
            h("span", { class: "state" }, p.state === "uploading" ? "uploading…" : p.state === "ready" ? "ready" : "failed"),
            h("button", { type: "button", class: "link", "aria-label": `Remove ${p.file.name}`, onclick: () => remove(p) }, "Remove")
          )
        )
      );
      onChange();
    }
    const el = h(
      "div",
      {
        class: "attach",
        ondragover: (e) => {
          if (!e.dataTransfer?.types.includes("Files")) return;
          e.preventDefault();
          el.classList.add("dropping");
        },
        ondragleave: () => el.classList.remove("dropping"),
        ondrop: (e) => {
          el.classList.remove("dropping");
          if (!e.dataTransfer?.files.length || input.disabled) return;
          e.preventDefault();
          add(Array.from(e.dataTransfer.files));
        }
      },
      h("label", { for: input.id }, "Attachments"),
      input,
      h("p", { id: `${id}-files-hint`, class: "hint" }, `Optional: up to ${limits.attachmentsMax} files, uploaded as you pick them; or drop them here.`),
      list
    );
    return {
      el,
      ids: () => picks.flatMap((p) => p.state === "ready" && p.attachment ? [p.attachment.attachment_id] : []),
      pending: () => picks.some((p) => p.state === "uploading"),
      failed: () => picks.some((p) => p.state === "failed"),
      clear() {
        picks = [];
        render();
      }
    };
  }
  async function download(a) {
    const body = a.size === 0 ? new Blob([]) : await ok(api.GET("/attachments/{attachment_id}", { params: { path: { attachment_id: a.attachment_id } }, parseAs: "blob" }));
    const url = URL.createObjectURL(new Blob([body], { type: "application/octet-stream" }));
    const link2 = h("a", { href: url, download: a.filename, hidden: true });
    document.body.append(link2);
    link2.click();
    link2.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1e4);
  }
  function attachmentList(atts, owner, onError) {
    if (!atts?.length) return null;
    return h(
      "ul",
      { class: "attachments", "aria-label": `Attachments from ${owner}` },
      atts.map(
        (a) => h(
          "li",
          null,
          h("span", { class: "name" }, a.filename),
          h("span", { class: "meta" }, `${humanSize(a.size)} · ${a.content_type}`),
          h(
            "button",
            {
              type: "button",
              class: "link",
              "aria-label": `Download ${a.filename}`,
              onclick: (e) => {
                const b = e.currentTarget;
                b.disabled = true;
                download(a).catch((err) => onError(`${a.filename} was not downloaded: ${describe(err)}`)).finally(() => b.disabled = false);
              }
            },
            "Download"
          )
        )
      )
    );
  }

  // src/compose.ts
  var kinds = [
    { kind: "direct", label: "Message", hint: "One new thread with you and every recipient." },
    { kind: "group", label: "Group message", hint: "One group thread for several recipients." },
    { kind: "broadcast", label: "Broadcast", hint: "The same message in a separate thread for each recipient." }
  ];
  function composeView(ctx, route) {
    let key = crypto.randomUUID();
    const initial = route.query.get("kind") ?? "direct";
    const result2 = h("div", { class: "result", role: "status" });
    const error = h("p", { class: "error", role: "alert" });
    const contacts = h("datalist", { id: "contact-handles" });
    const submit = h("button", { type: "submit" }, "Send");
    const files = picker(
      "compose",
      () => {
        key = crypto.randomUUID();
        submit.disabled = files.pending();
      },
      (msg) => error.textContent = msg
    );
    const form = h(
      "form",
      {
        class: "stack",
        "aria-labelledby": "compose-heading",
        oninput: () => key = crypto.randomUUID(),
        onsubmit: (e) => {
          e.preventDefault();
          error.textContent = "";
          void busy(form, send);
        }
      },
      h(
        "fieldset",
        null,
        h("legend", null, "Kind"),
        kinds.map(
          (k) => h(
            "label",
            { class: "choice" },
            h("input", { type: "radio", name: "kind", value: k.kind, checked: k.kind === initial }),
            h("span", null, h("strong", null, k.label), " — ", k.hint)
          )
        )
      ),
      h(
        "label",
        null,
        "To",
        h("input", { name: "to", required: true, list: "contact-handles", value: route.query.get("to") ?? "", autocomplete: "off", spellcheck: "false", "aria-describedby": "to-hint" })
      ),
      h("p", { id: "to-hint", class: "hint" }, "Handles, separated by commas."),
      h("label", null, "Subject", h("input", { name: "subject", required: true, maxlength: String(limits.subjectMax) })),
      h("label", null, "Message", h("textarea", { name: "body", required: true, rows: "8", maxlength: String(limits.bodyMax) })),
      h("label", null, "Tags", h("input", { name: "tags", autocomplete: "off", spellcheck: "false", "aria-describedby": "tags-hint" })),
      h("p", { id: "tags-hint", class: "hint" }, `Optional: up to ${limits.tagsMax} of a-z 0-9 _ -, separated by commas.`),
      files.el,
      error,
      submit,
      contacts
    );
    async function send() {
      const kind = field(form, "kind") || "direct";
      if (files.pending() || files.failed()) {
        error.textContent = files.pending() ? "Wait for the uploads to finish." : "Remove the files that were not uploaded, or pick them again.";
        return;
      }
      const ids = files.ids();
      const body = {
        to_handles: handles(field(form, "to")),
        subject: field(form, "subject"),
        body: field(form, "body"),
        tags: handles(field(form, "tags")),
        attachment_ids: ids.length ? ids : void 0
      };
      const params = { header: { "Idempotency-Key": key } };
      try {
        if (kind === "broadcast") {
          const r = await ok(api.POST("/messages/broadcast", { params, body }));
          ctx.announce(`Broadcast to ${r.count} recipient${r.count === 1 ? "" : "s"}`);
          form.reset();
          files.clear();
          key = crypto.randomUUID();
          replace(
            result2,
            h("p", null, `Sent in ${r.count} threads:`),
            h("ul", null, r.messages.map((m2) => h("li", null, h("a", { href: link(["threads", m2.thread_id, m2.message_id]) }, `${m2.subject} — ${m2.to_handles.join(", ")}`))))
          );
          return;
        }
        const m = await ok(kind === "group" ? api.POST("/messages/group", { params, body }) : api.POST("/messages", { params, body }));
        ctx.announce(`Sent to ${m.to_handles.join(", ")}`);
        go(link(["threads", m.thread_id, m.message_id]));
      } catch (err) {
        error.textContent = describe(err);
      }
    }
    void ok(api.GET("/contacts", { params: { query: { limit: limits.pageMax, active_only: true } } })).then((p) => replace(contacts, p.contacts.map((c) => h("option", { value: c.handle }, c.display_name ?? c.handle)))).catch(() => {
    });
    const el = h("section", { class: "page", "aria-labelledby": "compose-heading" }, h("h2", { id: "compose-heading", tabindex: "-1" }, "Compose"), form, result2);
    queueMicrotask(() => form.elements.namedItem("to")?.focus());
    return { el, title: "Compose" };
  }

  // src/contacts.ts
  function contactsView(ctx, route) {
    const q = route.query;
    const status = h("p", { class: "status", role: "status" });
    const body = h("tbody");
    const error = h("p", { class: "error", role: "alert" });
    let editing;
    let contacts = [];
    const searchForm = h(
      "form",
      {
        class: "filters",
        role: "search",
        "aria-label": "Search contacts",
        onsubmit: (e) => {
          e.preventDefault();
          location.hash = link(["contacts"], { q: field(searchForm, "q"), tag: field(searchForm, "tag").toLowerCase(), inactive: checked(searchForm, "inactive") ? "1" : void 0 });
        }
      },
      h("label", { class: "grow" }, "Find", h("input", { name: "q", type: "search", value: q.get("q") ?? "" })),
      h("label", null, "Tag", h("input", { name: "tag", value: q.get("tag") ?? "", autocomplete: "off", spellcheck: "false" })),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "inactive", checked: q.get("inactive") === "1" }), "Include inactive"),
      h("button", { type: "submit" }, "Show")
    );
    const addForm = h(
      "form",
      {
        class: "stack",
        "aria-labelledby": "add-contact-heading",
        onsubmit: (e) => {
          e.preventDefault();
          void busy(addForm, async () => {
            error.textContent = "";
            try {
              const c = await ok(
                api.POST("/contacts", {
                  params: { header: { "Idempotency-Key": crypto.randomUUID() } },
                  body: {
                    handle: field(addForm, "handle").toLowerCase(),
                    display_name: field(addForm, "display_name") || void 0,
                    description: field(addForm, "description") || void 0,
                    tags: handles(field(addForm, "tags"))
                  }
                })
              );
              addForm.reset();
              ctx.announce(`Added ${c.handle}`);
              await load2();
            } catch (err) {
              error.textContent = describe(err);
            }
          });
        }
      },
      h("h3", { id: "add-contact-heading" }, "Add a contact"),
      h("label", null, "Handle", h("input", { name: "handle", required: true, autocomplete: "off", spellcheck: "false" })),
      h("label", null, "Display name", h("input", { name: "display_name", maxlength: String(limits.displayNameMax) })),
      h("label", null, "Description", h("input", { name: "description", maxlength: String(limits.descriptionMax) })),
      h("label", null, "Tags", h("input", { name: "tags", autocomplete: "off", spellcheck: "false" })),
      error,
      h("button", { type: "submit" }, "Add contact")
    );
    async function load2() {
      status.textContent = "Loading contacts…";
      const tags = q.get("tag") ? [q.get("tag")] : void 0;
      try {
        if (q.get("q") || tags) {
          const r = await ok(api.GET("/contacts/search", { params: { query: { query: q.get("q") || void 0, tags, active_only: q.get("inactive") !== "1", limit: limits.pageMax } } }));
          contacts = r.contacts;
        } else {
          const r = await ok(api.GET("/contacts", { params: { query: { active_only: q.get("inactive") !== "1", limit: limits.pageMax } } }));
          contacts = r.contacts;
        }
        status.textContent = `${contacts.length} contact${contacts.length === 1 ? "" : "s"}`;
        render();
      } catch (err) {
        status.textContent = describe(err);
      }
    }
    function render() {
      replace(body, contacts.map((c) => c.handle === editing ? editRow(c) : row(c)));
    }
    function row(c) {
      return h(
        "tr",
        { class: c.is_active ? "" : "inactive" },
        h("th", { scope: "row" }, c.handle),
        h("td", null, c.display_name ?? ""),
        h("td", null, c.description ?? ""),
        h("td", null, c.tags.map((t) => h("span", { class: "chip" }, t))),
        h("td", null, c.is_active ? "active" : "inactive"),
        h("td", null, time(c.updated_at), ` by ${c.updated_by}`),
        h(
          "td",
          { class: "actions" },
          h("a", { href: link(["compose"], { to: c.handle }), "aria-label": `Write to ${c.handle}` }, "Write"),
          h("button", { type: "button", class: "link", "aria-label": `Edit ${c.handle}`, onclick: () => (editing = c.handle, render(), body.querySelector("input")?.focus()) }, "Edit"),
          c.is_active ? h("button", { type: "button", class: "link", "aria-label": `Deactivate ${c.handle}`, onclick: () => void deactivate(c) }, "Deactivate") : null
        )
      );
    }
    function editRow(c) {
      const formId = `edit-${c.handle}`;
      const save = async (f) => {
        try {
          await ok(
            api.PUT("/contacts/{handle}", {
              params: { path: { handle: c.handle } },
              body: {
                display_name: field(f, "display_name") || void 0,
                description: field(f, "description") || void 0,
                tags: handles(field(f, "tags")),
                is_active: checked(f, "is_active"),
                expected_version: c.version
              }
            })
          );
          editing = void 0;
          ctx.announce(`Saved ${c.handle}`);
          await load2();
        } catch (err) {
          error.textContent = describe(err);
        }
      };
      const form = h("form", { id: formId, onsubmit: (e) => (e.preventDefault(), void busy(form, () => save(form))) });
      return h(
        "tr",
        { class: "editing" },
        h("th", { scope: "row" }, c.handle, form),
        h("td", null, h("input", { form: formId, name: "display_name", value: c.display_name ?? "", "aria-label": "Display name", maxlength: String(limits.displayNameMax) })),
        h("td", null, h("input", { form: formId, name: "description", value: c.description ?? "", "aria-label": "Description", maxlength: String(limits.descriptionMax) })),
        h("td", null, h("input", { form: formId, name: "tags", value: c.tags.join(", "), "aria-label": "Tags" })),
        h("td", null, h("label", { class: "check" }, h("input", { form: formId, type: "checkbox", name: "is_active", checked: c.is_active }), "active")),
        h("td", null, `version ${c.version}`),
        h(
          "td",
          { class: "actions" },
          h("button", { type: "submit", form: formId }, "Save"),
          h("button", { type: "button", class: "link", onclick: () => (editing = void 0, render()) }, "Cancel")
        )
      );
    }
    async function deactivate(c) {
      try {
        await ok(api.DELETE("/contacts/{handle}", { params: { path: { handle: c.handle } } }));
        ctx.announce(`Deactivated ${c.handle}`);
        await load2();
      } catch (err) {
        error.textContent = describe(err);
      }
    }
    void load2();
    const el = h(
      "section",
      { class: "page", "aria-labelledby": "contacts-heading" },
      h("h2", { id: "contacts-heading", tabindex: "-1" }, "Address book"),
      searchForm,
      status,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          null,
          h("caption", { class: "visually-hidden" }, "Contacts"),
          h("thead", null, h("tr", null, ["Handle", "Name", "Description", "Tags", "State", "Updated", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
          body
        )
      ),
      addForm
    );
    return { el, title: "Address book" };
  }

  // src/live.ts
  var Live = class {
    constructor(on) {
      this.on = on;
    }
    on;
    cursor;
    abort = null;
    retryMs = 2e3;
    start() {
      this.stop();
      const abort = new AbortController();
      this.abort = abort;
      void this.run(abort.signal);
    }
    stop() {
      this.abort?.abort();
      this.abort = null;
    }
    async run(signal) {
      let failures = 0;
      while (!signal.aborted) {
        const token2 = bearer();
        if (!token2) return;
        this.on.state("connecting");
        try {
          const headers = { Authorization: `Bearer ${token2}`, Accept: "text/event-stream" };
          if (this.cursor) headers["Last-Event-ID"] = this.cursor;
          const res = await fetch(`${BASE}/events/stream`, { headers, signal, cache: "no-store" });
          if (res.status === 401) {
            notifyUnauthorized();
            return;
          }
          if (res.status === 410) {
            this.cursor = void 0;
            this.on.resync();
            continue;
          }
          if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
          failures = 0;
          this.on.state("live");
          this.on.connected();
          await this.read(res.body, signal);
        } catch (err) {
          if (signal.aborted) return;
          failures++;
          this.on.state("offline");
        }
        if (signal.aborted) return;
        const wait = failures === 0 ? this.retryMs : Math.min(3e4, this.retryMs * 2 ** Math.min(failures, 4));
        await sleep(wait, signal);
      }
    }
    async read(body, signal) {
      const reader = body.getReader();
      const decoder = new TextDecoder();
      signal.addEventListener("abort", () => void reader.cancel().catch(() => {
      }), { once: true });
      let buf = "";
      let id;
      let data = [];
      for (; ; ) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
          if (line === "") {
            if (data.length) this.dispatch(id, data.join("\n"));
            id = void 0;
            data = [];
            continue;
          }
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const name = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val.startsWith(" ")) val = val.slice(1);
          if (name === "id") id = val;
          else if (name === "data") data.push(val);
          else if (name === "retry" && /^\d+$/.test(val)) this.retryMs = Math.max(250, Number(val));
        }
      }
    }
    dispatch(id, data) {
      let e;
      try {
        e = JSON.parse(data);
      } catch {
        return;
      }
      this.cursor = id ?? e.cursor ?? this.cursor;
      this.on.event(e);
    }
  };
  function sleep(ms, signal) {
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      signal.addEventListener("abort", () => (clearTimeout(t), res()), { once: true });
    });
  }

  // src/search.ts
  function searchView(_ctx, route) {
    const results = h("ol", { class: "results", "aria-label": "Search results" });
    const status = h("p", { class: "status", role: "status" });
    const q = route.query;
    const form = h(
      "form",
      {
        class: "filters",
        role: "search",
        "aria-label": "Search messages",
        onsubmit: (e) => {
          e.preventDefault();
          go(
            link(["search"], {
              q: field(form, "q"),
              in_subject: checked(form, "in_subject") ? void 0 : "false",
              in_body: checked(form, "in_body") ? void 0 : "false",
              from: field(form, "from").toLowerCase(),
              to: field(form, "to").toLowerCase()
            })
          );
        }
      },
      h("label", { class: "grow" }, "Search for", h("input", { name: "q", type: "search", required: true, maxlength: String(limits.searchQueryMax), value: q.get("q") ?? "", "aria-keyshortcuts": "/" })),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "in_subject", checked: q.get("in_subject") !== "false" }), "Subject"),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "in_body", checked: q.get("in_body") !== "false" }), "Body"),
      h("label", null, "From", h("input", { name: "from", value: q.get("from") ?? "", autocomplete: "off", spellcheck: "false" })),
      h("label", null, "To", h("input", { name: "to", value: q.get("to") ?? "", autocomplete: "off", spellcheck: "false" })),
      h("button", { type: "submit" }, "Search")
    );
    async function run() {
      const query = q.get("q");
      if (!query) return;
      status.textContent = "Searching…";
      try {
        const r = await ok(
          api.GET("/messages/search", {
            params: {
              query: {
                query,
                in_subject: q.get("in_subject") !== "false",
                in_body: q.get("in_body") !== "false",
                from_handle: q.get("from") || void 0,
                to_handle: q.get("to") || void 0,
                limit: limits.pageMax
              }
            }
          })
        );
        status.textContent = `${r.count} message${r.count === 1 ? "" : "s"} match “${r.query}”` + (r.truncated ? "; the search stopped at the server's limit, older messages may match too" : "");
        replace(results, r.messages.map((m) => result(m, query, (msg) => status.textContent = msg)));
      } catch (err) {
        status.textContent = describe(err);
      }
    }
    void run();
    const el = h("section", { class: "page", "aria-labelledby": "search-heading" }, h("h2", { id: "search-heading", tabindex: "-1" }, "Search"), form, status, results);
    queueMicrotask(() => {
      const input = form.elements.namedItem("q");
      if (input && !q.get("q")) input.focus();
    });
    return { el, title: q.get("q") ? `Search: ${q.get("q")}` : "Search" };
  }
  function result(m, query, onError) {
    return h(
      "li",
      null,
      h(
        "a",
        { href: link(["threads", m.thread_id, m.message_id]), class: "result-row", "data-nav": "" },
        h("span", { class: "subject" }, highlight(m.subject, query)),
        h("span", { class: "who" }, `${m.from_handle} → ${m.to_handles.join(", ")}`),
        h("span", { class: "when" }, time(m.created_at)),
        h("span", { class: "snippet" }, highlight(snippet(m.body, query), query))
      ),
      // Beside the link, not in it: a button inside a link is not operable.
      attachmentList(m.attachments, m.from_handle, onError)
    );
  }
  function snippet(body, query) {
    const i = body.toLowerCase().indexOf(query.toLowerCase());
    if (i < 0 || body.length <= 160) return body.slice(0, 160);
    const start2 = Math.max(0, i - 60);
    return (start2 > 0 ? "…" : "") + body.slice(start2, start2 + 160) + (start2 + 160 < body.length ? "…" : "");
  }
  function highlight(text, query) {
    const out = [];
    const lower = text.toLowerCase();
    const ql = query.toLowerCase();
    let at = 0;
    for (let i = lower.indexOf(ql); ql && i >= 0; i = lower.indexOf(ql, i + ql.length)) {
      out.push(text.slice(at, i), h("mark", null, text.slice(i, i + ql.length)));
      at = i + ql.length;
    }
    out.push(text.slice(at));
    return out;
  }

  // src/session.ts
  var KEY = "agcom.console.session";
  function loadSession() {
    try {
      const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
      if (s && typeof s.token === "string" && s.expiresAt > Date.now()) return s;
    } catch {
    }
    sessionStorage.removeItem(KEY);
    return null;
  }
  function saveSession(s) {
    sessionStorage.setItem(KEY, JSON.stringify(s));
  }
  function clearSession() {
    sessionStorage.removeItem(KEY);
  }

  // src/stats.ts
  var KEY2 = "agcom.console.stats";
  var MAX_SAMPLES = 360;
  var SERIES = ["threads", "messages", "agents", "contacts"];
  var samples = load();
  var timer;
  var everyMs = 1e4;
  var listener;
  var lastError = "";
  function load() {
    try {
      const s = JSON.parse(sessionStorage.getItem(KEY2) ?? "[]");
      return Array.isArray(s) ? s : [];
    } catch {
      return [];
    }
  }
  async function sample() {
    try {
      const stats = await ok(api.GET("/admin/stats"));
      samples.push({ at: (/* @__PURE__ */ new Date()).toISOString(), stats });
      if (samples.length > MAX_SAMPLES) samples = samples.slice(-MAX_SAMPLES);
      sessionStorage.setItem(KEY2, JSON.stringify(samples));
      lastError = "";
    } catch (err) {
      lastError = describe(err);
    }
    listener?.();
  }
  function startSampling() {
    stopSampling();
    void sample();
    timer = setInterval(() => void sample(), everyMs);
  }
  function stopSampling() {
    clearInterval(timer);
    timer = void 0;
  }
  function forgetSamples() {
    stopSampling();
    samples = [];
    sessionStorage.removeItem(KEY2);
  }
  function statsView(_ctx) {
    const charts = h("div", { class: "charts" });
    const status = h("p", { class: "status", role: "status" });
    const table = h("tbody");
    const every = h(
      "select",
      {
        id: "stats-every",
        onchange: () => {
          everyMs = Number(every.value);
          startSampling();
        }
      },
      [2e3, 1e4, 3e4, 6e4].map((ms) => h("option", { value: String(ms), selected: ms === everyMs }, `${ms / 1e3} s`))
    );
    function render() {
      const last = samples[samples.length - 1];
      status.textContent = lastError || (last ? `${samples.length} sample${samples.length === 1 ? "" : "s"}, the last one ${new Date(last.at).toLocaleTimeString()}` : "No samples yet.");
      replace(charts, SERIES.map((k) => chart(k, samples)));
      replace(
        table,
        samples.slice(-20).reverse().map((s) => h("tr", null, h("th", { scope: "row" }, time(s.at, false)), SERIES.map((k) => h("td", null, String(s.stats[k])))))
      );
    }
    listener = render;
    render();
    const el = h(
      "section",
      { class: "page", "aria-labelledby": "stats-heading" },
      h("h2", { id: "stats-heading", tabindex: "-1" }, "Stats"),
      h(
        "div",
        { class: "filters" },
        h("label", { for: "stats-every" }, "Sample every"),
        every,
        h("button", { type: "button", class: "secondary", onclick: () => void sample() }, "Sample now")
      ),
      status,
      charts,
      h(
        "details",
        null,
        h("summary", null, "The last 20 samples as a table"),
        h(
          "div",
          { class: "table-wrap" },
          h("table", null, h("thead", null, h("tr", null, h("th", { scope: "col" }, "When"), SERIES.map((k) => h("th", { scope: "col" }, k)))), table)
        )
      )
    );
    return {
      el,
      title: "Stats",
      dispose() {
        listener = void 0;
      }
    };
  }
  var W = 320;
  var H = 120;
  var PAD = 6;
  function chart(key, data) {
    const values = data.map((s) => s.stats[key]);
    const last = values[values.length - 1];
    const min = Math.min(...values, last ?? 0);
    const max = Math.max(...values, min + 1);
    const t0 = data.length ? new Date(data[0].at).getTime() : 0;
    const t1 = data.length ? new Date(data[data.length - 1].at).getTime() : 1;
    const x = (t) => PAD + (t - t0) / Math.max(1, t1 - t0) * (W - 2 * PAD);
    const y = (v) => H - PAD - (v - min) / (max - min) * (H - 2 * PAD);
    const points = data.map((s) => `${x(new Date(s.at).getTime()).toFixed(1)},${y(s.stats[key]).toFixed(1)}`).join(" ");
    const id = `chart-${key}`;
    const desc = data.length ? `${key} from ${values[0]} to ${last} over ${data.length} samples; lowest ${Math.min(...values)}, highest ${Math.max(...values)}.` : `No samples of ${key} yet.`;
    return h(
      "figure",
      { class: "chart" },
      h("figcaption", { id: `${id}-caption` }, h("span", null, key), h("strong", { class: "big" }, last === void 0 ? "—" : String(last))),
      svg(
        "svg",
        { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title ${id}-desc`, preserveAspectRatio: "none" },
        svg("title", { id: `${id}-title` }, `${key} over time`),
        svg("desc", { id: `${id}-desc` }, desc),
        svg("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "axis" }),
        svg("text", { x: PAD, y: 14, class: "tick" }, String(max)),
        svg("text", { x: PAD, y: H - PAD - 4, class: "tick" }, String(min)),
        data.length > 1 ? svg("polyline", { points, class: `line line-${key}` }) : null,
        data.map((s) => svg("circle", { cx: x(new Date(s.at).getTime()).toFixed(1), cy: y(s.stats[key]).toFixed(1), r: data.length > 60 ? 0 : 2.5, class: `dot line-${key}` }))
      )
    );
  }

  // src/view.ts
  function debounce(f, ms = 150) {
    let t;
    return () => {
      clearTimeout(t);
      t = setTimeout(f, ms);
    };
  }

  // src/threads.ts
  var PAGE = 50;
  function filtersOf(q) {
    return {
      participant: q.get("participant") || void 0,
      tag: q.get("tag") || void 0,
      archived: q.get("archived") || void 0
    };
  }
  function threadsView(ctx, route) {
    let filters = filtersOf(route.query);
    let openId = route.parts[1];
    let targetMessage = route.parts[2];
    let threads = [];
    let hasMore = false;
    let total = 0;
    const listStatus = h("p", { class: "status", role: "status" });
    const list = h("ul", { class: "thread-list", "aria-label": "Threads" });
    const more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => void loadList(true) }, "Load more threads");
    const detail = h("div", { class: "pane detail-pane" });
    const filterForm = h(
      "form",
      { class: "filters", role: "search", "aria-label": "Filter threads", onsubmit: (e) => applyFilters(e) },
      h("label", null, "Participant", h("input", { name: "participant", value: filters.participant ?? "", autocomplete: "off", spellcheck: "false" })),
      h("label", null, "Tag", h("input", { name: "tag", value: filters.tag ?? "", autocomplete: "off", spellcheck: "false" })),
      h(
        "label",
        null,
        "Show",
        h(
          "select",
          { name: "archived" },
          h("option", { value: "", selected: !filters.archived }, "All"),
          h("option", { value: "false", selected: filters.archived === "false" }, "Not archived"),
          h("option", { value: "true", selected: filters.archived === "true" }, "Archived")
        )
      ),
      h("button", { type: "submit" }, "Filter")
    );
    const listPane = h(
      "section",
      { class: "pane list-pane", "aria-labelledby": "threads-heading" },
      h("h2", { id: "threads-heading", tabindex: "-1" }, ctx.session.isAdmin ? "All threads" : "Threads"),
      filterForm,
      listStatus,
      list,
      more
    );
    const el = h("div", { class: "split" }, listPane, detail);
    function applyFilters(e) {
      e.preventDefault();
      const f = e.currentTarget;
      location.hash = link(openId ? ["threads", openId] : ["threads"], {
        participant: field(f, "participant").toLowerCase(),
        tag: field(f, "tag").toLowerCase(),
        archived: field(f, "archived")
      });
    }
    function threadHref(id, messageId) {
      return link(messageId ? ["threads", id, messageId] : ["threads", id], {
        participant: filters.participant,
        tag: filters.tag,
        archived: filters.archived
      });
    }
    const archivedParam = () => filters.archived === void 0 ? void 0 : filters.archived === "true";
    async function loadList(append2 = false) {
      listStatus.textContent = "Loading threads…";
      try {
        const page = await ok(
          api.GET("/threads", {
            params: {
              query: {
                limit: PAGE,
                offset: append2 ? threads.length : 0,
                archived: archivedParam(),
                participant: filters.participant,
                tag: filters.tag
              }
            }
          })
        );
        threads = append2 ? threads.concat(page.threads) : page.threads;
        hasMore = page.pagination.has_more;
        total = page.pagination.total;
        renderList();
      } catch (err) {
        listStatus.textContent = describe(err);
      }
    }
    function renderList() {
      const active = [filters.participant && `participant ${filters.participant}`, filters.tag && `tag ${filters.tag}`].filter(Boolean);
      listStatus.textContent = `${total} thread${total === 1 ? "" : "s"}` + (active.length ? ` with ${active.join(" and ")}` : "");
      replace(
        list,
        threads.map(
          (t) => h(
            "li",
            null,
            h(
              "a",
              {
                href: threadHref(t.thread_id),
                class: `thread-row${t.unread_count ? " unread" : ""}`,
                "aria-current": t.thread_id === openId ? "true" : null,
                "data-nav": ""
              },
              h("span", { class: "subject" }, t.subject),
              t.unread_count ? h("span", { class: "badge", "aria-label": `${t.unread_count} unread` }, String(t.unread_count)) : null,
              t.metadata["archived"] === "true" ? h("span", { class: "chip" }, "archived") : null,
              h("span", { class: "who" }, t.participant_handles.join(", ")),
              h("span", { class: "when" }, ago(t.last_activity_at))
            )
          )
        )
      );
      more.hidden = !hasMore;
    }
    let thread;
    let messages = [];
    let readAt = /* @__PURE__ */ new Map();
    let replyTo;
    const detailStatus = h("p", { class: "status", role: "status" });
    const messageList = h("ol", { class: "messages", "aria-label": "Messages" });
    const head = h("header", { class: "thread-head" });
    const replyForm = buildReplyForm();
    async function loadDetail() {
      if (!openId) {
        el.classList.remove("has-detail");
        replace(detail, h("p", { class: "empty" }, "Choose a thread, or press j and k to move through them and Enter to open one."));
        return;
      }
      el.classList.add("has-detail");
      const id = openId;
      if (!detail.contains(messageList)) {
        replace(detail, h("p", null, h("a", { href: link(["threads"], { ...filters }), class: "back" }, "← All threads")), head, detailStatus, messageList, replyForm);
      }
      detailStatus.textContent = "Loading thread…";
      try {
        const [t, ms, inbox] = await Promise.all([
          ok(api.GET("/threads/{thread_id}", { params: { path: { thread_id: id } } })),
          allMessages(id),
          ok(api.GET("/inbox", { params: { query: { thread_id: id, limit: limits.pageMax } } }))
        ]);
        if (id !== openId) return;
        thread = t;
        messages = ms;
        readAt = new Map(inbox.messages.map((m) => [m.message_id, m.read_at]));
        renderDetail();
        document.title = `${t.subject} · AgCom console`;
        detailStatus.textContent = "";
      } catch (err) {
        replace(head);
        replace(messageList);
        detailStatus.textContent = describe(err);
      }
    }
    async function allMessages(id) {
      const out = [];
      for (let offset = 0; offset < 1e3; offset += limits.pageMax) {
        const page = await ok(api.GET("/threads/{thread_id}/messages", { params: { path: { thread_id: id }, query: { limit: limits.pageMax, offset } } }));
        out.push(...page.messages);
        if (!page.pagination.has_more) break;
      }
      return out;
    }
    function renderDetail() {
      if (!thread) return;
      const t = thread;
      const archived = t.metadata["archived"] === "true";
      const metaKeys = Object.keys(t.metadata).sort();
      replace(
        head,
        h("h2", { id: "thread-title", tabindex: "-1" }, t.subject),
        h(
          "dl",
          { class: "facts" },
          h("dt", null, "Participants"),
          h("dd", null, t.participant_handles.join(", ")),
          h("dt", null, "Started"),
          h("dd", null, time(t.created_at, false)),
          h("dt", null, "Last activity"),
          h("dd", null, time(t.last_activity_at)),
          h("dt", null, "Unread for you"),
          h("dd", null, String(t.unread_count))
        ),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "secondary", disabled: t.unread_count === 0, onclick: () => void markThreadRead() }, "Mark thread read"),
          h("button", { type: "button", class: "secondary", onclick: () => void setArchived(!archived) }, archived ? "Unarchive" : "Archive"),
          h("a", { href: threadHref(t.thread_id), class: "permalink" }, "Link to this thread")
        ),
        h(
          "details",
          { class: "metadata" },
          h("summary", null, `Metadata (${metaKeys.length})`),
          metaKeys.length ? h(
            "dl",
            { class: "facts" },
            metaKeys.map((k) => [
              h("dt", null, k),
              h(
                "dd",
                null,
                t.metadata[k] ?? "",
                " ",
                h("button", { type: "button", class: "link", "aria-label": `Remove metadata ${k}`, onclick: () => void putMetadata(k, null) }, "remove")
              )
            ])
          ) : h("p", null, "No metadata."),
          h(
            "form",
            {
              class: "inline",
              "aria-label": "Set metadata",
              onsubmit: (e) => {
                e.preventDefault();
                const f = e.currentTarget;
                void busy(f, () => putMetadata(field(f, "key"), field(f, "value")));
              }
            },
            h("label", null, "Key", h("input", { name: "key", required: true, maxlength: String(limits.metadataKeyMax) })),
            h("label", null, "Value", h("input", { name: "value", maxlength: String(limits.metadataValueMax) })),
            h("button", { type: "submit" }, "Set")
          )
        )
      );
      replace(
        messageList,
        messages.map((m) => {
          const mine = readAt.has(m.message_id);
          const read = readAt.get(m.message_id);
          return h(
            "li",
            null,
            h(
              "article",
              {
                id: `m-${m.message_id}`,
                class: `message${m.message_id === targetMessage ? " target" : ""}${mine && !read ? " unread" : ""}`,
                tabindex: "-1",
                "aria-label": `Message from ${m.from_handle}`,
                "data-nav": ""
              },
              h(
                "header",
                null,
                h("strong", null, m.from_handle),
                " → ",
                m.to_handles.join(", "),
                " · ",
                time(m.created_at),
                mine && !read ? h("span", { class: "chip unread-chip" }, "unread") : null,
                m.tags.map((tag) => h("span", { class: "chip" }, tag))
              ),
              h("div", { class: "body" }, m.body),
              attachmentList(m.attachments, m.from_handle, (msg) => detailStatus.textContent = msg),
              h(
                "footer",
                { class: "actions" },
                h("button", { type: "button", class: "link", onclick: () => startReply(m) }, "Reply to this message"),
                mine ? h("button", { type: "button", class: "link", onclick: () => void markMessage(m.message_id, !read) }, read ? "Mark unread" : "Mark read") : null,
                h("a", { href: threadHref(m.thread_id, m.message_id), class: "permalink", "aria-label": `Link to message from ${m.from_handle}` }, "Link")
              )
            )
          );
        })
      );
      renderReplyTarget();
    }
    async function markThreadRead() {
      if (!thread) return;
      try {
        const r = await ok(api.POST("/threads/{thread_id}/read", { params: { path: { thread_id: thread.thread_id } } }));
        ctx.announce(`Marked ${r.marked} message${r.marked === 1 ? "" : "s"} read`);
        await Promise.all([loadDetail(), loadList()]);
      } catch (err) {
        detailStatus.textContent = describe(err);
      }
    }
    async function markMessage(id, read) {
      try {
        await ok(read ? api.POST("/messages/{message_id}/read", { params: { path: { message_id: id } } }) : api.POST("/messages/{message_id}/unread", { params: { path: { message_id: id } } }));
        await Promise.all([loadDetail(), loadList()]);
      } catch (err) {
        detailStatus.textContent = describe(err);
      }
    }
    async function setArchived(archive) {
      if (!thread) return;
      const p = { params: { path: { thread_id: thread.thread_id } } };
      try {
        await ok(archive ? api.POST("/threads/{thread_id}/archive", p) : api.POST("/threads/{thread_id}/unarchive", p));
        ctx.announce(archive ? "Thread archived" : "Thread unarchived");
        await Promise.all([loadDetail(), loadList()]);
      } catch (err) {
        detailStatus.textContent = describe(err);
      }
    }
    async function putMetadata(key, value) {
      if (!thread) return;
      try {
        await ok(api.PUT("/threads/{thread_id}/metadata", { params: { path: { thread_id: thread.thread_id } }, body: { key, value } }));
        ctx.announce(value === null ? `Removed ${key}` : `Set ${key}`);
        await loadDetail();
      } catch (err) {
        detailStatus.textContent = describe(err);
      }
    }
    function buildReplyForm() {
      let key = crypto.randomUUID();
      const submit = h("button", { type: "submit" }, "Send reply");
      const error = h("p", { class: "error", role: "alert" });
      const files = picker(
        "reply",
        () => {
          key = crypto.randomUUID();
          submit.disabled = files.pending();
        },
        (msg) => error.textContent = msg
      );
      const f = h(
        "form",
        {
          class: "reply",
          "aria-labelledby": "reply-heading",
          oninput: () => key = crypto.randomUUID(),
          onsubmit: (e) => {
            e.preventDefault();
            error.textContent = "";
            void busy(f, async () => {
              if (!thread) return;
              if (files.pending() || files.failed()) {
                error.textContent = files.pending() ? "Wait for the uploads to finish." : "Remove the files that were not uploaded, or pick them again.";
                return;
              }
              const ids = files.ids();
              const body = { body: field(f, "body"), tags: handles(field(f, "tags")), attachment_ids: ids.length ? ids : void 0 };
              const headers = { "Idempotency-Key": key };
              try {
                const m = replyTo ? await ok(api.POST("/messages/{message_id}/reply", { params: { path: { message_id: replyTo.message_id }, header: headers }, body })) : await ok(api.POST("/threads/{thread_id}/reply", { params: { path: { thread_id: thread.thread_id }, header: headers }, body }));
                f.reset();
                key = crypto.randomUUID();
                replyTo = void 0;
                ctx.announce(`Reply sent to ${m.to_handles.join(", ")}`);
                await loadDetail();
              } catch (err) {
                error.textContent = describe(err);
              }
            });
          }
        },
        h("h3", { id: "reply-heading" }, "Reply"),
        h("p", { class: "reply-target" }),
        h("label", null, "Message", h("textarea", { name: "body", required: true, rows: "4", maxlength: String(limits.bodyMax), "aria-keyshortcuts": "r" })),
        h("label", null, "Tags", h("input", { name: "tags", autocomplete: "off", spellcheck: "false", "aria-describedby": "reply-tags-hint" })),
        h("p", { id: "reply-tags-hint", class: "hint" }, "Optional, separated by commas."),
        files.el,
        error,
        submit
      );
      f.addEventListener("reset", () => files.clear());
      return f;
    }
    function startReply(m) {
      replyTo = m;
      renderReplyTarget();
      replyForm.querySelector("textarea")?.focus();
    }
    function renderReplyTarget() {
      const p = replyForm.querySelector(".reply-target");
      if (replyTo) {
        const target = replyTo;
        replace(
          p,
          `Replying to ${target.from_handle}'s message of `,
          time(target.created_at),
          ". ",
          h("button", { type: "button", class: "link", onclick: () => (replyTo = void 0, renderReplyTarget()) }, "Reply to the latest message instead")
        );
      } else {
        replace(p, "Replying to the thread's latest message.");
      }
    }
    function focusTarget() {
      if (targetMessage) {
        const m = document.getElementById(`m-${targetMessage}`);
        if (m) {
          m.scrollIntoView({ block: "center" });
          m.focus();
          return;
        }
      }
      document.getElementById(openId ? "thread-title" : "threads-heading")?.focus();
    }
    const refreshList = debounce(() => void loadList());
    const refreshDetail = debounce(() => void loadDetail());
    void Promise.all([loadList(), loadDetail()]).then(focusTarget);
    return {
      el,
      get title() {
        return thread && openId ? thread.subject : "Threads";
      },
      onEvent(e) {
        refreshList();
        if (e.thread_id === openId) refreshDetail();
      },
      update(r) {
        if (r.parts[0] !== "threads") return false;
        const f = filtersOf(r.query);
        const filtersChanged = f.participant !== filters.participant || f.tag !== filters.tag || f.archived !== filters.archived;
        filters = f;
        const changed = r.parts[1] !== openId;
        openId = r.parts[1];
        targetMessage = r.parts[2];
        if (changed) {
          thread = void 0;
          replyTo = void 0;
          replyForm.reset();
        }
        void Promise.all([filtersChanged ? loadList() : (renderList(), void 0), loadDetail()]).then(focusTarget);
        return true;
      }
    };
  }

  // src/main.ts
  var SECTIONS = [
    { name: "threads", label: "Threads", key: "t", make: threadsView },
    { name: "compose", label: "Compose", key: "c", make: composeView },
    { name: "search", label: "Search", key: "/", make: searchView },
    { name: "contacts", label: "Address book", key: "b", make: contactsView },
    { name: "audit", label: "Audit", key: "a", make: auditView },
    { name: "agents", label: "Agents", key: "g", admin: true, make: (ctx) => agentsView(ctx) },
    { name: "stats", label: "Stats", key: "s", admin: true, make: (ctx) => statsView(ctx) }
  ];
  var app = document.getElementById("app");
  var session = null;
  var current;
  var expiry;
  var live = new Live({
    event: (e) => onEvent(e),
    state: (s) => showLive(s),
    connected: () => void checkRole(),
    resync: () => renderRoute(true)
  });
  var toast = h("div", { class: "toast", role: "status", "aria-live": "polite" });
  var toastTimer;
  function announce(msg) {
    toast.textContent = msg;
    toast.classList.add("shown");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => toast.classList.remove("shown"), 5e3);
  }
  function showSignIn(note = "") {
    current?.dispose?.();
    current = void 0;
    clearTimeout(toastTimer);
    toast.classList.remove("shown");
    toast.textContent = "";
    document.title = "Sign in · AgCom console";
    const error = h("p", { class: "error", role: "alert" });
    const form = h(
      "form",
      {
        class: "stack signin",
        "aria-labelledby": "signin-heading",
        onsubmit: (e) => {
          e.preventDefault();
          error.textContent = "";
          void busy(form, async () => {
            try {
              await signIn(field(form, "handle").toLowerCase(), form.elements.namedItem("secret").value);
            } catch (err) {
              error.textContent = describe(err);
              form.elements.namedItem("secret").select();
            }
          });
        }
      },
      h("h2", { id: "signin-heading" }, "Sign in"),
      note ? h("p", { class: "note", role: "status" }, note) : null,
      h("label", null, "Handle", h("input", { name: "handle", required: true, autocomplete: "username", spellcheck: "false", autocapitalize: "none" })),
      h("label", null, "Secret", h("input", { name: "secret", type: "password", required: true, autocomplete: "current-password" })),
      error,
      h("button", { type: "submit" }, "Sign in"),
      h("p", { class: "hint" }, "Your token stays in this tab only and is forgotten when you sign out or close it.")
    );
    replace(
      app,
      h("header", { class: "top" }, h("h1", null, "AgCom console")),
      h("main", { id: "main", class: "signin-main" }, form),
      toast
    );
    form.elements.namedItem("handle").focus();
  }
  async function signIn(handle, secret) {
    const r = await ok(api.POST("/auth/token", { body: { agent_handle: handle, agent_secret: secret } }));
    setToken(r.access_token);
    const isAdmin = await probeAdmin();
    start({ handle, token: r.access_token, expiresAt: Date.now() + r.expires_in * 1e3, isAdmin });
  }
  async function probeAdmin() {
    try {
      const r = await api.GET("/admin/stats");
      return r.response.ok;
    } catch {
      return session?.isAdmin ?? false;
    }
  }
  function start(s) {
    session = s;
    saveSession(s);
    setToken(s.token);
    scheduleExpiry(s.expiresAt);
    renderShell();
    live.start();
    if (s.isAdmin) startSampling();
    else stopSampling();
  }
  function scheduleExpiry(at) {
    clearTimeout(expiry);
    expiry = setTimeout(() => {
      if (Date.now() >= at) endSession("Your session expired. Sign in again to continue.");
      else scheduleExpiry(at);
    }, Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)));
  }
  function endSession(note, forget = false) {
    if (!session) return;
    live.stop();
    clearTimeout(expiry);
    session = null;
    setToken(null);
    clearSession();
    if (forget) forgetSamples();
    else stopSampling();
    showSignIn(note);
  }
  onUnauthorized(() => endSession("Your session has ended: the token expired or was revoked, or the agent was disabled. Sign in again to continue."));
  async function checkRole() {
    if (!session) return;
    const isAdmin = await probeAdmin();
    if (!session || isAdmin === session.isAdmin) return;
    session = { ...session, isAdmin };
    saveSession(session);
    if (isAdmin) startSampling();
    else stopSampling();
    announce(isAdmin ? "You are an admin now." : "You are no longer an admin.");
    renderShell();
  }
  var liveBadge = h("span", { class: "live", role: "status" });
  function showLive(s) {
    liveBadge.dataset["state"] = s;
    liveBadge.textContent = s === "live" ? "Live" : s === "connecting" ? "Connecting…" : "Offline, retrying";
  }
  var nav;
  var main;
  function renderShell() {
    if (!session) return;
    const s = session;
    nav = h(
      "nav",
      { "aria-label": "Sections" },
      h(
        "ul",
        null,
        SECTIONS.filter((sec) => !sec.admin || s.isAdmin).map(
          (sec) => h("li", null, h("a", { href: link([sec.name]), "data-section": sec.name, "aria-keyshortcuts": sec.key }, sec.label))
        )
      )
    );
    main = h("main", { id: "main", tabindex: "-1" });
    replace(
      app,
      h("button", { type: "button", class: "skip", onclick: () => main.focus() }, "Skip to content"),
      h(
        "header",
        { class: "top" },
        h("h1", null, h("a", { href: link(["threads"]) }, "AgCom console")),
        liveBadge,
        h("span", { class: "me" }, s.handle, s.isAdmin ? h("span", { class: "chip admin" }, "admin") : null),
        h("button", { type: "button", class: "secondary shortcuts", "aria-keyshortcuts": "?", onclick: () => toggleHelp() }, "Shortcuts"),
        h("button", { type: "button", class: "secondary", onclick: () => endSession("You signed out.", true) }, "Sign out")
      ),
      nav,
      main,
      toast,
      help
    );
    showLive(liveBadge.dataset["state"] ?? "connecting");
    current = void 0;
    renderRoute(true);
  }
  function renderRoute(rebuild = false) {
    if (!session) return;
    const r = currentRoute();
    const sec = SECTIONS.find((s) => s.name === r.parts[0]);
    for (const a of nav.querySelectorAll("a[data-section]")) {
      if (a.dataset["section"] === sec?.name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (!rebuild && current?.update?.(r)) return;
    current?.dispose?.();
    const ctx = { session, announce };
    if (!sec) current = { el: h("section", { class: "page" }, h("h2", { tabindex: "-1" }, "Not found"), h("p", null, "There is no such page. ", h("a", { href: link(["threads"]) }, "Go to your threads."))), title: "Not found" };
    else if (sec.admin && !session.isAdmin) current = { el: h("section", { class: "page" }, h("h2", { tabindex: "-1" }, sec.label), h("p", null, "Only admins see this page.")), title: sec.label };
    else current = sec.make(ctx, r);
    replace(main, current.el);
    document.title = `${current.title} · AgCom console`;
    main.querySelector("h2")?.focus({ preventScroll: true });
  }
  function onEvent(e) {
    if (e.type === "message.created") {
      const m = e.data.message;
      if (m && m.from_handle !== session?.handle) announce(`New message from ${m.from_handle}: ${m.subject}`);
    }
    current?.onEvent?.(e);
  }
  var help = h(
    "dialog",
    { class: "help", "aria-labelledby": "help-heading" },
    h("h2", { id: "help-heading" }, "Keyboard shortcuts"),
    h(
      "dl",
      { class: "facts" },
      [
        ...SECTIONS.map((s) => [s.key, `${s.label}${s.admin ? " (admins)" : ""}`]),
        ["j / k", "Next / previous thread, message or result"],
        ["Enter", "Open the focused item"],
        ["r", "Reply in the open thread"],
        ["?", "This list"],
        ["Esc", "Close this list, or leave a field"]
      ].map(([k, v]) => [h("dt", null, h("kbd", null, k)), h("dd", null, v)])
    ),
    h("form", { method: "dialog" }, h("button", { type: "submit" }, "Close"))
  );
  function toggleHelp() {
    if (help.open) help.close();
    else help.showModal();
  }
  document.addEventListener("keydown", (e) => {
    if (!session || e.ctrlKey || e.metaKey || e.altKey || help.open) return;
    const t = e.target;
    if (t.closest("input, textarea, select, [contenteditable]")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    if (e.key === "?") {
      e.preventDefault();
      toggleHelp();
      return;
    }
    if (e.key === "j" || e.key === "k") {
      const items = Array.from(main.querySelectorAll("[data-nav]"));
      if (!items.length) return;
      e.preventDefault();
      const i = items.indexOf(document.activeElement);
      const next = items[e.key === "j" ? i < 0 ? 0 : Math.min(items.length - 1, i + 1) : i <= 0 ? 0 : i - 1];
      next.focus();
      next.scrollIntoView({ block: "nearest" });
      return;
    }
    if (e.key === "r") {
      const box = main.querySelector("form.reply textarea");
      if (box) {
        e.preventDefault();
        box.focus();
      }
      return;
    }
    const sec = SECTIONS.find((s) => s.key === e.key && (!s.admin || session.isAdmin));
    if (sec) {
      e.preventDefault();
      go(link([sec.name]));
    }
  });
  window.addEventListener("hashchange", () => renderRoute());
  var saved = loadSession();
  if (saved) start(saved);
  else showSignIn();
})();
