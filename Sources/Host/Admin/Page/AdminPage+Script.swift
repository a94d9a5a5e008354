extension AdminPage {
    static let script = #"""
        "use strict";
        (() => {
          const TOKEN_KEY = "atomHubAdminToken";
          const COLORS = ["#3b5bdb", "#2f9e44", "#e8590c", "#ae3ec9", "#1098ad", "#e03131", "#f08c00", "#5c940d"];
          const $ = (id) => document.getElementById(id);
          let timer = null;
          let providerIDs = [];

          function el(tag, attrs, ...children) {
            const node = document.createElement(tag);
            for (const [key, value] of Object.entries(attrs || {})) {
              if (key === "class") node.className = value; else if (key.startsWith("on")) node.addEventListener(key.slice(2), value); else node.setAttribute(key, value);
            }
            for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child == null ? "" : String(child)));
            return node;
          }

          async function api(method, path, body) {
            const headers = { "Authorization": "Bearer " + sessionStorage.getItem(TOKEN_KEY) };
            if (body !== undefined) headers["Content-Type"] = "application/json";
            const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
            let json = null;
            try { json = await response.json(); } catch (_) { json = null; }
            if (response.status === 401) { signOut("The token was refused."); throw new Error("unauthorized"); }
            return { status: response.status, json };
          }

          function time(seconds) {
            if (seconds == null) return "";
            const date = new Date(seconds * 1000);
            return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
          }

          function fill(tableID, rows, empty, columns) {
            const body = $(tableID).tBodies[0];
            body.replaceChildren();
            if (rows.length === 0) { body.append(el("tr", {}, el("td", { class: "empty", colspan: String(columns) }, empty))); return; }
            for (const row of rows) body.append(row);
          }

          function pill(text, kind) { return el("span", { class: "pill " + kind }, text); }

          async function loadProviders(events) {
            const { json } = await api("GET", "/api/admin/providers");
            const providers = (json && json.providers) || [];
            providerIDs = providers.map((p) => p.id);
            const since = Date.now() / 1000 - 15 * 60;
            fill("providers", providers.map((p) => {
              const toggle = el("input", { type: "checkbox", "data-provider": p.id, "aria-label": "enable " + p.id });
              toggle.checked = p.enabled;
              toggle.addEventListener("change", async () => {
                toggle.disabled = true;
                const result = await api("PUT", "/api/admin/providers/" + encodeURIComponent(p.id), { enabled: toggle.checked });
                if (result.status !== 200) alert("Could not switch " + p.id + ": " + ((result.json && result.json.detail) || result.status));
                await refresh();
              });
              const count = events.filter((e) => e.provider === p.id && e.received_at >= since).length;
              return el("tr", {},
                el("td", {}, el("span", { class: "name" }, p.name), el("span", { class: "id" }, p.id)),
                el("td", {}, pill(p.state.replace("_", " "), "state-" + p.state), p.reason ? el("span", { class: "reason", title: p.reason }, p.reason) : ""),
                el("td", {}, String(count)),
                el("td", { class: "right" }, el("label", { class: "switch" }, toggle, el("span", { class: "slider" }))));
            }), "No providers.", 4);
            $("providers-note").textContent = providers.filter((p) => p.enabled).length + " of " + providers.length + " enabled";
            const select = $("event-provider");
            if (select.options.length === 1) for (const id of providerIDs) select.append(el("option", { value: id }, id));
          }

          function loadEvents(events) {
            const filter = $("event-provider").value;
            const shown = events.filter((e) => !filter || e.provider === filter).slice(0, 12);
            fill("events", shown.map((e) => el("tr", {},
              el("td", {}, time(e.received_at)), el("td", {}, e.provider), el("td", {}, e.type), el("td", { title: e.external_id }, e.external_id))),
              "No events yet.", 4);
          }

          function drawChart(events) {
            const canvas = $("chart");
            const ratio = window.devicePixelRatio || 1;
            const width = canvas.clientWidth || 1100, height = canvas.clientHeight || 220;
            canvas.width = width * ratio; canvas.height = height * ratio;
            const g = canvas.getContext("2d");
            g.scale(ratio, ratio);
            g.clearRect(0, 0, width, height);
            const minutes = 15, now = Date.now() / 1000;
            const series = {};
            for (const e of events) {
              const age = Math.floor((now - e.received_at) / 60);
              if (age < 0 || age >= minutes) continue;
              (series[e.provider] = series[e.provider] || new Array(minutes).fill(0))[minutes - 1 - age] += 1;
            }
            const names = Object.keys(series).sort();
            const max = Math.max(4, ...names.flatMap((n) => series[n]));
            const left = 36, right = 12, top = 12, bottom = 26;
            const plotW = width - left - right, plotH = height - top - bottom;
            g.font = "11px system-ui, sans-serif"; g.fillStyle = "#6b7280"; g.strokeStyle = "#eef0f4"; g.lineWidth = 1;
            for (let i = 0; i <= 4; i++) {
              const y = top + plotH - (plotH * i) / 4;
              g.beginPath(); g.moveTo(left, y); g.lineTo(width - right, y); g.stroke();
              g.fillText(String(Math.round((max * i) / 4)), 6, y + 4);
            }
            for (let m = 0; m < minutes; m += 3) {
              const x = left + (plotW * m) / (minutes - 1);
              g.fillText("-" + (minutes - 1 - m) + "m", x - 10, height - 8);
            }
            g.fillText("now", left + plotW - 18, height - 8);
            const legend = $("legend");
            legend.replaceChildren();
            names.forEach((name) => {
              const color = COLORS[Math.max(0, providerIDs.indexOf(name)) % COLORS.length];
              g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
              series[name].forEach((v, i) => {
                const x = left + (plotW * i) / (minutes - 1), y = top + plotH - (plotH * v) / max;
                if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
              });
              g.stroke();
              const i = el("i"); i.style.background = color;
              legend.append(el("span", {}, i, name + " · " + series[name].reduce((a, b) => a + b, 0)));
            });
            if (names.length === 0) legend.append(el("span", {}, "No events in the last 15 minutes."));
          }

          async function loadJobs() {
            const state = $("job-state").value;
            const { json } = await api("GET", "/api/admin/jobs?limit=12" + (state ? "&state=" + state : ""));
            const jobs = (json && json.jobs) || [];
            fill("jobs", jobs.map((j) => el("tr", {},
              el("td", {}, String(j.id)), el("td", {}, j.kind), el("td", {}, pill(j.state, "state-" + j.state)),
              el("td", {}, j.attempts + "/" + j.max_attempts), el("td", { title: j.last_error || "" }, j.last_error || ""),
              el("td", { class: "right" }, j.state === "dead"
                ? el("button", { class: "small", onclick: async () => { await api("POST", "/api/admin/jobs/" + j.id + "/retry"); await refresh(); } }, "Retry") : ""))),
              state === "dead" ? "No dead letters." : "No jobs.", 6);
          }

          async function loadDeliveries() {
            const { json } = await api("GET", "/api/admin/deliveries?limit=12");
            const items = (json && json.deliveries) || [];
            fill("deliveries", items.map((d) => el("tr", {},
              el("td", {}, String(d.id)), el("td", { title: d.last_error || "" }, d.destination + " · event " + d.event_id),
              el("td", {}, pill(d.state, "state-" + d.state)), el("td", {}, d.attempts + "/" + d.max_attempts),
              el("td", { class: "right" }, d.state === "dead"
                ? el("button", { class: "small", onclick: async () => { await api("POST", "/api/admin/deliveries/" + d.id + "/retry"); await refresh(); } }, "Retry") : ""))),
              "No deliveries.", 5);
          }

          async function loadAudit() {
            const { json } = await api("GET", "/api/security/audit?limit=12");
            const rows = (json && json.events) || [];
            fill("audit", rows.map((r) => el("tr", {},
              el("td", {}, time(r.timestamp)), el("td", {}, r.event_type), el("td", {}, pill(r.severity, "sev-" + r.severity)),
              el("td", { title: JSON.stringify(r.details) }, Object.entries(r.details || {}).map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" ")))),
              "No audit entries.", 4);
          }

          async function refresh() {
            try {
              const { json } = await api("GET", "/api/admin/events?limit=1000");
              const events = (json && json.events) || [];
              await loadProviders(events);
              loadEvents(events);
              drawChart(events);
              await Promise.all([loadJobs(), loadDeliveries(), loadAudit()]);
              $("status").textContent = "signed in · updated " + time(Date.now() / 1000);
              document.body.dataset.ready = "true";
            } catch (error) {
              if (error.message !== "unauthorized") $("status").textContent = "refresh failed: " + error.message;
            }
          }

          function signIn() {
            $("login").hidden = true; $("app").hidden = false; $("signout").hidden = false;
            refresh();
            clearInterval(timer);
            timer = setInterval(refresh, 5000);
          }

          function signOut(message) {
            sessionStorage.removeItem(TOKEN_KEY);
            clearInterval(timer);
            $("login").hidden = false; $("app").hidden = true; $("signout").hidden = true;
            $("status").textContent = "not signed in";
            $("login-error").hidden = !message; $("login-error").textContent = message || "";
          }

          document.addEventListener("DOMContentLoaded", () => {
            $("login-form").addEventListener("submit", (event) => {
              event.preventDefault();
              sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
              $("token").value = "";
              signIn();
            });
            $("signout").addEventListener("click", () => signOut());
            $("event-provider").addEventListener("change", refresh);
            $("job-state").addEventListener("change", refresh);
            if (sessionStorage.getItem(TOKEN_KEY)) signIn();
          });
        })();
        """#
}
