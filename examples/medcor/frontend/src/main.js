// Calls both backends from the browser, as the real frontend does: a wrong port or a
// missing CORS origin shows up here. Served by Vite directly, the page calls each
// backend on its own port (cross-origin: CORS); served through the stack's nginx
// proxy, it calls /api/v1/ and /api/v2/ on its own origin (no CORS at all).
const env = import.meta.env;
const proxied = env.VITE_PROXY_PORT && location.port === env.VITE_PROXY_PORT;
const v1 = proxied ? "/api/v1" : `${env.VITE_BACKEND_URL}/api`;
const v2 = proxied ? "/api/v2" : `${env.VITE_BACKEND2_URL}/api`;

document.querySelector("#mode").textContent = proxied
  ? `through the proxy (${v1}/, ${v2}/)`
  : `directly (${v1}/, ${v2}/), cross-origin from ${location.origin}`;

async function show(id, url, render) {
  const section = document.getElementById(id);
  try {
    const response = await fetch(url);
    const body = await response.json();
    if (!response.ok) throw new Error(`${response.status}: ${JSON.stringify(body)}`);
    render(section, body);
    section.dataset.state = "ok";
  } catch (error) {
    section.querySelector("pre, ul").textContent = `${url} failed: ${error.message}`;
    section.dataset.state = "error";
  }
}

function list(section, items) {
  const ul = section.querySelector("ul");
  ul.replaceChildren(...items.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
}

const json = (section, body) => { section.querySelector("pre").textContent = JSON.stringify(body, null, 2); };

show("v1-health", `${v1}/health/`, json);
show("v1-patients", `${v1}/patients/`, (s, body) => list(s, body.patients.map((p) => `${p.name} (born ${p.born})`)));
show("v2-health", `${v2}/health/`, json);
show("v2-tenants", `${v2}/tenants/`, (s, body) => list(s, body.tenants.map((t) => `${t.name} (${t.slug}): ${t.patients} patients`)));
