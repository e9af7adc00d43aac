/* The storefront and admin console: one page, routed by the URL's fragment (#/cart), on the public
 * API only. Tokens (README, "The storefront's tokens"): the access token lives in this script's
 * memory and nowhere else; the refresh token is an HttpOnly cookie the gateway sets
 * (POST /api/session) and this script never sees; it is renewed before it runs out. localStorage
 * holds the visitor's cart lines and nothing else. No inline script: the page's CSP forbids it.
 */
"use strict";

const PAGE_SIZE = 12;
const VISITOR_CART_KEY = "shop.cart";
const PAYMENT_METHODS = [
  ["pm_card_visa", "Visa (succeeds)"],
  ["pm_card_chargeDeclined", "Card declined"],
  ["pm_card_chargeDeclinedInsufficientFunds", "Card declined: insufficient funds"],
];
const SORTS = [
  ["-created", "Newest first"],
  ["price", "Price: low to high"],
  ["-price", "Price: high to low"],
  ["name", "Name"],
];
// Moves an admin may ask for, by the order's status (the transaction service decides).
const ADMIN_MOVES = {
  pending: ["completed", "cancelled"],
  paid: ["shipped", "cancelled"],
  shipped: ["completed"],
  completed: ["cancelled"],
  cancelled: [],
};
const CANCELLABLE = new Set(["pending", "paid"]);
const ORDER_STATUSES = ["pending", "paid", "shipped", "completed", "cancelled"];

/* ------------------------------------------------------------------ helpers */

/** An element: h("p", {testid: "x", class: "y", on: {click: f}}, "text", child). Text is never parsed as HTML. */
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (name === "testid") {
      element.dataset.testid = value;
    } else if (name === "class") {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, value);
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Cents of a money string ("19.99" -> 1999): money never goes through a float here. */
function cents(money) {
  const [whole, fraction = ""] = String(money).split(".");
  return Number(whole) * 100 + Number((fraction + "00").slice(0, 2));
}

function money(amountInCents) {
  const whole = Math.floor(amountInCents / 100);
  return `$${whole}.${String(amountInCents % 100).padStart(2, "0")}`;
}

function shownPrice(price) {
  return money(cents(price));
}

function errorText(body, status) {
  if (body && typeof body === "object" && body.message) {
    const fields = body.fields ? Object.entries(body.fields).map(([name, problem]) => `${name} ${problem}`) : [];
    const reason = body.reason ? [`Reason: ${body.reason.replace(/_/g, " ")}.`] : [];
    return [body.message, ...reason, ...fields].join(" ");
  }
  return `The shop answered ${status}. Try again.`;
}

function errorBox() {
  return h("p", { testid: "error-message", class: "error", role: "alert", hidden: true });
}

function showError(box, body, status) {
  box.textContent = errorText(body, status);
  box.hidden = false;
}

// A page whose one read was refused: its title and the API's message.
function failedPage(title, answer) {
  const errors = errorBox();
  showError(errors, answer.body, answer.status);
  return [h("h1", {}, title), errors];
}

function newKey() {
  return crypto.randomUUID();
}

/* ------------------------------------------------------------------ session */

const session = { accessToken: null, user: null, refreshTimer: null };

function claimsOf(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload));
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("shop_csrf="));
  return cookie ? decodeURIComponent(cookie.slice("shop_csrf=".length)) : "";
}

/** Keep a new access token in memory and renew it before it runs out (at two thirds of its life).
 * The caller shows the login in the header when it is ready to. */
function startSession(answer) {
  const claims = claimsOf(answer.access_token);
  session.accessToken = answer.access_token;
  session.user = answer.user || { id: Number(claims.sub), role: claims.role, username: session.user?.username };
  session.user.id = Number(session.user.id);
  clearTimeout(session.refreshTimer);
  const renewInMs = Math.max(2, answer.expires_in * (2 / 3)) * 1000;
  session.refreshTimer = setTimeout(renewSession, renewInMs);
}

function endSession() {
  clearTimeout(session.refreshTimer);
  session.accessToken = null;
  session.user = null;
  showSessionInHeader();
}

/** Trade the refresh cookie for the next access token; false when there is no login left. */
async function renewSession() {
  if (!csrfToken()) return false;
  const response = await fetch("/api/session/refresh", {
    method: "POST",
    headers: { "X-CSRF-Token": csrfToken() },
    credentials: "same-origin",
  });
  if (!response.ok) {
    endSession();
    return false;
  }
  startSession(await response.json());
  showSessionInHeader();
  return true;
}

async function logIn(username, password) {
  const response = await fetch("/api/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
    credentials: "same-origin",
  });
  const body = await response.json();
  if (response.ok) {
    startSession(body);
    // The header shows the login once the visitor's cart has joined the user's.
    await mergeVisitorCart();
    showSessionInHeader();
  }
  return { ok: response.ok, status: response.status, body };
}

async function logOut() {
  await fetch("/api/session", {
    method: "DELETE",
    headers: { "X-CSRF-Token": csrfToken() },
    credentials: "same-origin",
  });
  endSession();
  await refreshCartCount();
  location.hash = "#/";
}

function showSessionInHeader() {
  const user = session.user;
  for (const item of document.querySelectorAll(".when-user")) item.hidden = !user;
  for (const item of document.querySelectorAll(".when-visitor")) item.hidden = Boolean(user);
  for (const item of document.querySelectorAll(".when-admin")) item.hidden = !(user && user.role === "admin");
  document.getElementById("who").textContent = user && user.username ? `Signed in as ${user.username}` : "";
}

/** Call the API through the gateway: {ok, status, body, headers}. A 401 renews the token once and retries. */
async function api(method, path, body, extraHeaders) {
  const send = () => {
    const headers = { ...(extraHeaders || {}) };
    if (session.accessToken) headers.Authorization = `Bearer ${session.accessToken}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  let response = await send();
  if (response.status === 401 && session.accessToken && (await renewSession())) response = await send();
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (error) {
    parsed = { message: `The shop answered ${response.status} with something that is not JSON.` };
  }
  return { ok: response.ok, status: response.status, body: parsed, headers: response.headers };
}

/* ------------------------------------------------------------------ cart */

function visitorLines() {
  try {
    const lines = JSON.parse(localStorage.getItem(VISITOR_CART_KEY) || "[]");
    return Array.isArray(lines) ? lines.filter((line) => line.productId > 0 && line.quantity > 0) : [];
  } catch (error) {
    return [];
  }
}

function saveVisitorLines(lines) {
  localStorage.setItem(VISITOR_CART_KEY, JSON.stringify(lines.map(({ productId, quantity }) => ({ productId, quantity }))));
}

/** The cart as GET /api/cart answers it: the server's when logged in, else built from the visitor's lines. */
async function loadCart() {
  if (session.user) {
    const answer = await api("GET", "/api/cart");
    return answer.ok ? answer.body : { items: [], total: "0.00", error: answer };
  }
  const items = [];
  for (const line of visitorLines()) {
    const answer = await api("GET", `/api/products/${line.productId}`);
    const product = answer.ok ? answer.body : { name: `Product ${line.productId}`, price: "0.00", stock: 0 };
    const lineTotal = cents(product.price) * line.quantity;
    items.push({ productId: line.productId, name: product.name, price: product.price, quantity: line.quantity, lineTotal: (lineTotal / 100).toFixed(2), available: product.stock });
  }
  const total = items.reduce((sum, item) => sum + cents(item.price) * item.quantity, 0);
  return { items, total: (total / 100).toFixed(2) };
}

/** Set a line's quantity (0 removes it); answers {ok, status, body}. */
async function setLine(productId, quantity) {
  if (session.user) {
    if (quantity === 0) return api("DELETE", `/api/cart/items/${productId}`);
    return api("PUT", `/api/cart/items/${productId}`, { quantity });
  }
  const lines = visitorLines().filter((line) => line.productId !== productId);
  if (quantity > 0) lines.push({ productId, quantity });
  saveVisitorLines(lines);
  return { ok: true, status: 200, body: null };
}

async function addToCart(productId, quantity) {
  const cart = await loadCart();
  const current = cart.items.find((item) => item.productId === productId);
  const answer = await setLine(productId, Math.min(10000, (current ? current.quantity : 0) + quantity));
  await refreshCartCount();
  return answer;
}

/** At login the visitor's lines join the user's cart (quantities add up) and leave the browser. */
async function mergeVisitorCart() {
  const lines = visitorLines();
  if (!lines.length) return;
  const answer = await api("GET", "/api/cart");
  if (!answer.ok) return;
  const kept = [];
  for (const line of lines) {
    const current = answer.body.items.find((item) => item.productId === line.productId);
    const quantity = Math.min(10000, line.quantity + (current ? current.quantity : 0));
    const added = await api("PUT", `/api/cart/items/${line.productId}`, { quantity });
    // A product deleted meanwhile (404) is dropped; a line the server could not take now stays for the next login.
    if (!added.ok && added.status !== 404) kept.push(line);
  }
  if (kept.length) saveVisitorLines(kept);
  else localStorage.removeItem(VISITOR_CART_KEY);
}

async function refreshCartCount() {
  const cart = await loadCart();
  document.querySelector('[data-testid="cart-count"]').textContent = String(cart.items.reduce((sum, item) => sum + item.quantity, 0));
}

/* ------------------------------------------------------------------ pages */

function productVisual(product) {
  if (product.image_url && product.image_url.startsWith("/")) {
    return h("img", { class: "product-image", src: product.image_url, alt: "" });
  }
  return h("div", { class: "placeholder", "aria-hidden": "true" }, product.name.trim().charAt(0).toUpperCase() || "?");
}

function addButton(product, errors, quantityOf) {
  const soldOut = product.stock <= 0;
  return h("button", {
    type: "button",
    testid: "add-to-cart",
    disabled: soldOut,
    "aria-label": soldOut ? `Sold out: ${product.name}` : `Add to cart: ${product.name}`,
    on: {
      click: async (event) => {
        const answer = await addToCart(product.id, quantityOf ? quantityOf() : 1);
        if (!answer.ok) return showError(errors, answer.body, answer.status);
        event.target.textContent = "Added ✓";
      },
    },
  }, soldOut ? "Sold out" : "Add to cart");
}

function productCard(product, errors) {
  return h("li", { class: "card", testid: "product-card" },
    productVisual(product),
    h("h2", {}, h("a", { href: `#/product/${product.id}`, testid: "product-name" }, product.name)),
    h("p", { class: "price", testid: "product-price" }, shownPrice(product.price)),
    h("p", { class: "muted" }, product.category ? `${product.category} · ` : "", product.stock > 0 ? `${product.stock} in stock` : "Sold out"),
    addButton(product, errors));
}

function catalogQuery(params) {
  const query = new URLSearchParams();
  for (const name of ["q", "category", "sort"]) if (params.get(name)) query.set(name, params.get(name));
  if (params.get("inStock") === "true") query.set("inStock", "true");
  const page = Math.max(1, Number(params.get("page")) || 1);
  query.set("limit", String(PAGE_SIZE));
  query.set("offset", String((page - 1) * PAGE_SIZE));
  return { query, page };
}

function goToCatalog(params, changes) {
  const next = new URLSearchParams(params);
  for (const [name, value] of Object.entries(changes)) {
    if (value) next.set(name, value);
    else next.delete(name);
  }
  if (!("page" in changes)) next.delete("page");
  location.hash = `#/?${next}`;
}

function catalogFilters(params, categories) {
  const search = h("input", { id: "search", type: "search", testid: "search-input", value: params.get("q") || "", placeholder: "Search products" });
  const searchForm = h("form", { role: "search", class: "field", on: { submit: (event) => { event.preventDefault(); goToCatalog(params, { q: search.value.trim() }); } } },
    h("label", { for: "search" }, "Search"), search);
  const category = h("select", { id: "category", testid: "category-filter", on: { change: () => goToCatalog(params, { category: category.value }) } },
    h("option", { value: "" }, "All categories"),
    categories.map((entry) => h("option", { value: entry.name, selected: params.get("category") === entry.name }, `${entry.name} (${entry.product_count})`)));
  const sort = h("select", { id: "sort", testid: "sort-select", on: { change: () => goToCatalog(params, { sort: sort.value === "-created" ? "" : sort.value }) } },
    SORTS.map(([value, text]) => h("option", { value, selected: (params.get("sort") || "-created") === value }, text)));
  const inStock = h("input", { id: "in-stock", type: "checkbox", testid: "in-stock-filter", checked: params.get("inStock") === "true", on: { change: () => goToCatalog(params, { inStock: inStock.checked ? "true" : "" }) } });
  return h("div", { class: "filters" }, searchForm,
    h("div", { class: "field" }, h("label", { for: "category" }, "Category"), category),
    h("div", { class: "field" }, h("label", { for: "sort" }, "Sort by"), sort),
    h("div", { class: "field" }, h("label", { for: "in-stock", class: "inline" }, inStock, "In stock only")));
}

async function catalogPage(params) {
  const { query, page } = catalogQuery(params);
  const [products, categories] = await Promise.all([api("GET", `/api/products?${query}`), api("GET", "/api/categories")]);
  const errors = errorBox();
  if (!products.ok) showError(errors, products.body, products.status);
  const total = products.ok ? Number(products.headers.get("X-Total-Count")) : 0;
  const items = products.ok ? products.body : [];
  const first = total ? (page - 1) * PAGE_SIZE + 1 : 0;
  return [
    h("h1", {}, "Products"),
    catalogFilters(params, categories.ok ? categories.body : []),
    errors,
    items.length ? h("ul", { class: "products", "aria-label": "Products" }, items.map((product) => productCard(product, errors))) : h("p", {}, "No product matches."),
    h("nav", { class: "pager", "aria-label": "Pages" },
      h("button", { type: "button", class: "secondary", testid: "previous-page", disabled: page <= 1, on: { click: () => goToCatalog(params, { page: String(page - 1) }) } }, "Previous"),
      h("span", { testid: "page-info" }, `${first}–${first ? first + items.length - 1 : 0} of ${total}`),
      h("button", { type: "button", class: "secondary", testid: "next-page", disabled: page * PAGE_SIZE >= total, on: { click: () => goToCatalog(params, { page: String(page + 1) }) } }, "Next")),
  ];
}

async function productPage(productId) {
  const answer = await api("GET", `/api/products/${productId}`);
  if (!answer.ok) return failedPage("Product", answer);
  const errors = errorBox();
  const product = answer.body;
  const quantity = h("input", { id: "quantity", type: "number", min: "1", max: "10000", value: "1", class: "line-quantity", testid: "quantity-input" });
  return [
    h("h1", {}, product.name),
    h("div", { class: "card form" },
      productVisual(product),
      h("p", { class: "price", testid: "product-price" }, shownPrice(product.price)),
      product.category ? h("p", { class: "muted" }, `Category: ${product.category}`) : null,
      h("p", {}, product.description || "No description."),
      h("p", { class: "muted" }, product.stock > 0 ? `${product.stock} in stock` : "Sold out"),
      h("div", { class: "field" }, h("label", { for: "quantity" }, "Quantity"), quantity),
      errors,
      addButton(product, errors, () => Math.max(1, Math.min(10000, Number(quantity.value) || 1)))),
    h("p", {}, h("a", { href: "#/" }, "← Back to the products")),
  ];
}

/** A line's product as the cart shows it: a product deleted since has no name or price left. */
function lineName(item) {
  return item.name === null ? `Product ${item.productId} (no longer sold)` : item.name;
}

function lineTotal(item) {
  return item.lineTotal === null ? "—" : shownPrice(item.lineTotal);
}

function cartLine(item, errors) {
  const name = lineName(item);
  const inputId = `quantity-${item.productId}`;
  const quantity = h("input", {
    id: inputId, type: "number", min: "1", max: "10000", value: String(item.quantity), class: "line-quantity", testid: "line-quantity",
    on: {
      change: async () => {
        const wanted = Math.floor(Number(quantity.value));
        const answer = await setLine(item.productId, wanted);
        if (!answer.ok) return showError(errors, answer.body, answer.status);
        route();
      },
    },
  });
  return h("li", { class: "line", testid: "cart-line" },
    h("span", { testid: "line-name" }, name),
    h("div", {}, h("label", { for: inputId }, `Quantity of ${name}`), quantity),
    h("span", { testid: "line-total" }, lineTotal(item), item.available < item.quantity ? h("span", { class: "muted" }, ` (only ${item.available} available)`) : null),
    h("button", { type: "button", class: "secondary", testid: "line-remove", "aria-label": `Remove ${name}`, on: { click: async () => { await setLine(item.productId, 0); route(); } } }, "Remove"));
}

async function cartPage() {
  const cart = await loadCart();
  await refreshCartCount();
  const errors = errorBox();
  if (cart.error) showError(errors, cart.error.body, cart.error.status);
  if (!cart.items.length) return [h("h1", {}, "Your cart"), errors, h("p", {}, "Your cart is empty. ", h("a", { href: "#/" }, "Browse the products"), ".")];
  return [
    h("h1", {}, "Your cart"),
    errors,
    h("ul", { class: "lines", "aria-label": "Cart lines" }, cart.items.map((item) => cartLine(item, errors))),
    h("p", { class: "total" }, "Total: ", h("span", { testid: "cart-total" }, shownPrice(cart.total))),
    h("button", { type: "button", testid: "checkout-button", on: { click: () => { location.hash = session.user ? "#/checkout" : "#/login?next=checkout"; } } }, "Check out"),
  ];
}

function credentialsForm(title, submitText, onSubmit) {
  const errors = errorBox();
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true, testid: "username-input" });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: title === "Register" ? "new-password" : "current-password", required: true, testid: "password-input" });
  const submit = h("button", { type: "submit", testid: "submit-button" }, submitText);
  const form = h("form", { class: "form", on: {
    submit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      const failure = await onSubmit(username.value.trim(), password.value);
      submit.disabled = false;
      if (failure) showError(errors, failure.body, failure.status);
    },
  } },
  h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
  h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
  errors, submit);
  return [h("h1", {}, title), form];
}

function afterLogin(params) {
  location.hash = params.get("next") === "checkout" ? "#/checkout" : "#/";
}

async function loginPage(params) {
  return [
    ...credentialsForm("Log in", "Log in", async (username, password) => {
      const answer = await logIn(username, password);
      if (!answer.ok) return answer;
      await refreshCartCount();
      afterLogin(params);
      return null;
    }),
    h("p", {}, "No account yet? ", h("a", { href: `#/register${params.get("next") ? "?next=checkout" : ""}` }, "Register")),
  ];
}

async function registerPage(params) {
  return credentialsForm("Register", "Create account", async (username, password) => {
    const registered = await api("POST", "/api/users/register", { username, password });
    if (!registered.ok) return registered;
    const answer = await logIn(username, password);
    if (!answer.ok) return answer;
    await refreshCartCount();
    afterLogin(params);
    return null;
  });
}

function needLogin(next) {
  location.hash = `#/login${next ? `?next=${next}` : ""}`;
  return [h("h1", {}, "Please log in")];
}

/** The caller's customer profile, or null when they have none yet. */
async function myCustomer() {
  const answer = await api("GET", `/api/customers/user/${session.user.id}`);
  if (answer.status === 404) return { customer: null };
  return answer.ok ? { customer: answer.body } : { error: answer };
}

function profileFields() {
  const field = (id, label, attributes) => h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, ...attributes }));
  return h("fieldset", { class: "form" }, h("legend", {}, "Your details (once)"),
    field("customer-name", "Full name", { autocomplete: "name", required: true, testid: "customer-name-input" }),
    field("customer-email", "Email", { type: "email", autocomplete: "email", required: true, testid: "customer-email-input" }),
    field("customer-phone", "Phone (optional)", { type: "tel", autocomplete: "tel", testid: "customer-phone-input" }),
    field("customer-address", "Address (optional)", { autocomplete: "street-address", testid: "customer-address-input" }));
}

async function createCustomer(form) {
  const value = (id) => form.querySelector(`#${id}`).value.trim();
  const body = { userId: session.user.id, name: value("customer-name"), email: value("customer-email") };
  if (value("customer-phone")) body.phone = value("customer-phone");
  if (value("customer-address")) body.address = value("customer-address");
  return api("POST", "/api/customers", body);
}

// One key per checkout attempt: a retry after a timeout sends the same key, so it can never charge twice.
let checkoutKey = null;

async function placeOrder(form, customer, errors) {
  let customerId = customer && customer.id;
  if (!customerId) {
    const created = await createCustomer(form);
    if (!created.ok) return showError(errors, created.body, created.status);
    customerId = created.body.customerId;
  }
  checkoutKey = checkoutKey || newKey();
  const paymentMethod = form.querySelector('[data-testid="payment-method"]').value;
  const answer = await api("POST", "/api/checkout", { customerId, paymentMethod }, { "Idempotency-Key": checkoutKey });
  if (answer.status !== 503 && answer.status !== 504) checkoutKey = null;
  await refreshCartCount();
  if (!answer.ok) return showError(errors, answer.body, answer.status);
  location.hash = `#/order/${answer.body.transactionId || answer.body.id}`;
}

async function checkoutPage() {
  if (!session.user) return needLogin("checkout");
  const [cart, mine] = await Promise.all([loadCart(), myCustomer()]);
  const errors = errorBox();
  if (mine.error) showError(errors, mine.error.body, mine.error.status);
  if (!cart.items.length) return [h("h1", {}, "Checkout"), h("p", {}, "Your cart is empty. ", h("a", { href: "#/" }, "Browse the products"), ".")];
  const place = h("button", { type: "submit", testid: "place-order" }, `Pay ${shownPrice(cart.total)}`);
  const form = h("form", { class: "form", on: { submit: async (event) => {
    event.preventDefault();
    place.disabled = true;
    errors.hidden = true;
    await placeOrder(form, mine.customer, errors);
    place.disabled = false;
  } } },
  mine.customer ? h("p", {}, `Ship to ${mine.customer.name}, ${mine.customer.email}`) : profileFields(),
  h("div", { class: "field" }, h("label", { for: "payment-method" }, "Payment method (sandbox)"),
    h("select", { id: "payment-method", testid: "payment-method" }, PAYMENT_METHODS.map(([value, text]) => h("option", { value }, text)))),
  errors, place);
  return [
    h("h1", {}, "Checkout"),
    h("ul", { class: "lines", "aria-label": "Order summary" }, cart.items.map((item) => h("li", { class: "line" }, `${item.quantity} × ${lineName(item)}`, h("span", {}, lineTotal(item))))),
    h("p", { class: "total" }, "Total: ", shownPrice(cart.total)),
    form,
  ];
}

async function orderPage(orderId) {
  if (!session.user) return needLogin();
  const answer = await api("GET", `/api/transactions/${orderId}`);
  if (!answer.ok) return failedPage("Order", answer);
  const order = answer.body;
  return [
    h("h1", {}, "Thank you for your order"),
    h("section", { class: "card form", testid: "order-confirmation", "aria-label": "Order confirmation" },
      h("p", {}, "Order number ", h("strong", { testid: "order-id" }, String(order.id))),
      h("p", {}, "Status: ", h("span", { class: "status", testid: "order-status" }, order.status)),
      order.payment ? h("p", {}, "Payment: ", h("span", { testid: "payment-status" }, order.payment.status), ` (${shownPrice(order.payment.amount)})`) : null,
      h("ul", {}, (order.items || []).map((item) => h("li", {}, `${item.quantity} × ${item.product_name} at ${shownPrice(item.price_per_item)}`))),
      h("p", { class: "total" }, "Total: ", shownPrice(order.total_amount))),
    h("p", {}, h("a", { href: "#/orders" }, "See all my orders")),
  ];
}

function orderRow(order, errors) {
  const cancel = CANCELLABLE.has(order.status)
    ? h("button", { type: "button", class: "danger", testid: "cancel-order", "aria-label": `Cancel order ${order.id}`, on: { click: async () => {
      const answer = await api("PUT", `/api/transactions/${order.id}/status`, { status: "cancelled" });
      if (!answer.ok) return showError(errors, answer.body, answer.status);
      route();
    } } }, "Cancel")
    : null;
  return h("li", { class: "row", testid: "order-row" },
    h("span", {}, h("a", { href: `#/order/${order.id}`, testid: "order-id" }, `Order ${order.id}`), ` · ${order.transaction_date ? order.transaction_date.slice(0, 10) : ""}`),
    h("span", {}, h("span", { class: "status", testid: "order-status" }, order.status), order.payment ? h("span", { testid: "payment-status", class: "muted" }, ` payment ${order.payment.status}`) : null),
    h("span", {}, shownPrice(order.total_amount)),
    cancel || h("span", {}));
}

async function ordersPage() {
  if (!session.user) return needLogin();
  const errors = errorBox();
  const mine = await myCustomer();
  if (mine.error) showError(errors, mine.error.body, mine.error.status);
  if (!mine.customer) return [h("h1", {}, "My orders"), errors, h("p", {}, "No orders yet.")];
  const list = await api("GET", `/api/transactions/customer/${mine.customer.id}?limit=20`);
  if (!list.ok) showError(errors, list.body, list.status);
  // A list row may not carry the payment; the order read by id does.
  const orders = await Promise.all((list.ok ? list.body : []).map(async (order) => {
    const detail = await api("GET", `/api/transactions/${order.id}`);
    return detail.ok ? detail.body : order;
  }));
  return [
    h("h1", {}, "My orders"),
    errors,
    orders.length ? h("ul", { class: "rows", "aria-label": "Orders" }, orders.map((order) => orderRow(order, errors))) : h("p", {}, "No orders yet."),
  ];
}

/* ------------------------------------------------------------------ admin console */

function productForm(product, errors) {
  const field = (id, label, attributes) => h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, ...attributes }));
  const value = (form, id) => form.querySelector(`#${id}`).value.trim();
  const form = h("form", { class: "form", testid: "admin-product-form", "aria-label": product ? `Edit ${product.name}` : "New product", on: { submit: async (event) => {
    event.preventDefault();
    const body = { name: value(form, "product-name"), price: value(form, "product-price"), stock: Number(value(form, "product-stock")), category: value(form, "product-category") || null, description: value(form, "product-description") || null };
    const answer = product ? await api("PUT", `/api/products/${product.id}`, body) : await api("POST", "/api/products", body);
    if (!answer.ok) return showError(errors, answer.body, answer.status);
    location.hash = `#/admin?saved=${answer.body.productId || product.id}`;
  } } },
  h("h2", {}, product ? `Edit ${product.name}` : "New product"),
  field("product-name", "Name", { testid: "name-input", required: true, value: product ? product.name : "" }),
  field("product-price", "Price", { testid: "price-input", required: true, inputmode: "decimal", value: product ? product.price : "" }),
  field("product-stock", "Stock", { testid: "stock-input", type: "number", min: "0", required: true, value: product ? String(product.stock) : "0" }),
  field("product-category", "Category", { testid: "category-input", value: product && product.category ? product.category : "" }),
  field("product-description", "Description", { testid: "description-input", value: product && product.description ? product.description : "" }),
  h("div", { class: "actions" }, h("button", { type: "submit", testid: "save-button" }, "Save"),
    product ? h("a", { href: "#/admin" }, "New product instead") : null));
  return form;
}

function adminProductRow(product, errors) {
  return h("li", { class: "row", testid: "admin-product-row" },
    h("span", { testid: "admin-product-name" }, product.name),
    h("span", {}, shownPrice(product.price), ` · stock ${product.stock}`),
    h("span", {}, product.category || "no category"),
    h("span", { class: "actions" },
      h("a", { href: `#/admin?edit=${product.id}`, testid: "edit-product", "aria-label": `Edit ${product.name}` }, "Edit"),
      h("button", { type: "button", class: "danger", testid: "delete-product", "aria-label": `Delete ${product.name}`, on: { click: async () => {
        const answer = await api("DELETE", `/api/products/${product.id}`);
        if (!answer.ok) return showError(errors, answer.body, answer.status);
        route();
      } } }, "Delete")));
}

function adminOrderRow(order, errors) {
  const moves = ADMIN_MOVES[order.status] || [];
  const select = h("select", { id: `move-${order.id}`, testid: "status-select", disabled: !moves.length, on: { change: async () => {
    if (!select.value) return;
    const answer = await api("PUT", `/api/transactions/${order.id}/status`, { status: select.value });
    if (!answer.ok) {
      select.value = "";
      return showError(errors, answer.body, answer.status);
    }
    route();
  } } }, h("option", { value: "" }, moves.length ? "Move to…" : "No move"), moves.map((status) => h("option", { value: status }, status === "cancelled" ? "cancelled (refund)" : status)));
  return h("li", { class: "row", testid: "admin-order-row" },
    h("span", { testid: "order-id" }, `Order ${order.id} · customer ${order.customer_id}`),
    h("span", { class: "status", testid: "order-status" }, order.status),
    h("span", {}, shownPrice(order.total_amount)),
    h("span", {}, h("label", { for: `move-${order.id}`, class: "visually-hidden-label" }, `Status of order ${order.id}`), select));
}

async function adminPage(params) {
  if (!session.user) return needLogin();
  if (session.user.role !== "admin") return [h("h1", {}, "Admin"), h("p", { class: "error", testid: "error-message", role: "alert" }, "Only an admin may open the console.")];
  const wanted = params.get("status") || "";
  const [products, orders, editing] = await Promise.all([
    api("GET", "/api/products?limit=100"),
    api("GET", "/api/transactions?limit=200"),
    params.get("edit") ? api("GET", `/api/products/${params.get("edit")}`) : Promise.resolve(null),
  ]);
  const errors = errorBox();
  for (const answer of [products, orders, editing]) if (answer && !answer.ok) showError(errors, answer.body, answer.status);
  const shownOrders = (orders.ok ? orders.body : []).filter((order) => !wanted || order.status === wanted);
  const filter = h("select", { id: "status-filter", testid: "status-filter", on: { change: () => { location.hash = `#/admin${filter.value ? `?status=${filter.value}` : ""}`; } } },
    h("option", { value: "" }, "All statuses"), ORDER_STATUSES.map((status) => h("option", { value: status, selected: status === wanted }, status)));
  return [
    h("h1", {}, "Admin console"),
    errors,
    params.get("saved") ? h("p", { class: "notice", role: "status" }, `Product ${params.get("saved")} saved.`) : null,
    h("div", { class: "admin-grid" },
      h("section", { "aria-label": "Products" }, productForm(editing && editing.ok ? editing.body : null, errors),
        h("h2", {}, "Products"),
        h("ul", { class: "rows" }, (products.ok ? products.body : []).map((product) => adminProductRow(product, errors)))),
      h("section", { "aria-label": "Orders" }, h("h2", {}, "Orders"),
        h("div", { class: "field" }, h("label", { for: "status-filter" }, "Show orders"), filter),
        shownOrders.length ? h("ul", { class: "rows" }, shownOrders.map((order) => adminOrderRow(order, errors))) : h("p", {}, "No orders."))),
  ];
}

/* ------------------------------------------------------------------ routing */

const ROUTES = [
  [/^\/$/, (match, params) => catalogPage(params)],
  [/^\/product\/(\d+)$/, (match) => productPage(match[1])],
  [/^\/cart$/, () => cartPage()],
  [/^\/login$/, (match, params) => loginPage(params)],
  [/^\/register$/, (match, params) => registerPage(params)],
  [/^\/checkout$/, () => checkoutPage()],
  [/^\/order\/(\d+)$/, (match) => orderPage(match[1])],
  [/^\/orders$/, () => ordersPage()],
  [/^\/admin$/, (match, params) => adminPage(params)],
];

let shownRoute = 0;

/** Render the page the fragment names; a page that finished after a newer one started is dropped. */
async function route() {
  const current = ++shownRoute;
  document.getElementById("main").setAttribute("aria-busy", "true");
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const found = ROUTES.map(([pattern, page]) => [path.match(pattern), page]).find(([match]) => match);
  const content = found ? await found[1](found[0], params) : [h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the products"))];
  if (current !== shownRoute) return;
  const main = document.getElementById("main");
  main.replaceChildren(...content.filter(Boolean));
  main.dataset.page = path;
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · Shop` : "Shop";
  main.setAttribute("aria-busy", "false");
}

async function start() {
  document.querySelector('[data-testid="logout-button"]').addEventListener("click", logOut);
  await renewSession();
  showSessionInHeader();
  await refreshCartCount();
  window.addEventListener("hashchange", route);
  await route();
}

document.addEventListener("DOMContentLoaded", start);
