// PortOne's JavaScript server SDK against fakepay in PortOne mode: get, pay instantly, pay with a
// billing key, cancel (part, then the rest), list, the errors it throws, and fakepay's webhooks
// verified with the SDK's Webhook.verify.
//
//   FAKEPAY_URL     fakepay's base URL (required), e.g. http://127.0.0.1:8080
//   FAKEPAY_SECRET  the API secret to send (default: a new one each run, so runs never meet)
//
// Payment ids are new each run too, so the tests may run again on the same fakepay.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { test } from "node:test";
import { Payment, PortOneClient, Webhook } from "@portone/server-sdk";

const baseUrl = process.env.FAKEPAY_URL;
assert.ok(baseUrl, "set FAKEPAY_URL to the base URL of a fakepay serving PortOne, e.g. http://127.0.0.1:8080");
const secret = process.env.FAKEPAY_SECRET || `node-${randomUUID()}`;
const run = randomUUID().slice(0, 8);
const { payment } = PortOneClient({ secret, baseUrl });

const CARD = { card: { credential: { number: "4242424242424242", expiryYear: "30", expiryMonth: "12" } } };
const ORDER = { orderName: "노트북 외 1건", currency: "KRW", customData: JSON.stringify({ item: "노트북", quantity: 1 }) };

/** A new payment id of this run. */
const id = (name) => `node-${run}-${name}`;

/** Pay `total` at once by card; the SDK's answer. */
const payInstantly = (paymentId, total, more = {}) =>
  payment.payInstantly({ paymentId, method: CARD, amount: { total }, ...ORDER, ...more });

/** The amount of a payment of `total` of which `cancelled` was cancelled. */
const amount = (total, cancelled = 0) =>
  ({ total, taxFree: 0, discount: 0, paid: total, cancelled, cancelledTaxFree: 0 });

/** Assert that `call` throws the SDK's `name` error whose body has the type `type`. */
const rejects = (call, name, type) =>
  assert.rejects(call, (error) => {
    assert.ok(error instanceof Payment.PaymentError, `${error} is not a PaymentError`);
    assert.equal(error.name, name);
    assert.equal(error.data.type, type);
    assert.equal(error.message, error.data.message);
    return true;
  });

test("pay instantly answers the gateway's transaction and the time; get then shows the paid payment", async () => {
  const paid = await payInstantly(id("get"), 1000);
  assert.deepEqual(Object.keys(paid.payment).sort(), ["paidAt", "pgTxId"]);
  const found = await payment.getPayment({ paymentId: id("get") });
  assert.equal(found.status, "PAID");
  assert.equal(found.id, id("get"));
  assert.equal(found.version, "V2");
  assert.equal(found.orderName, ORDER.orderName);
  assert.equal(found.currency, "KRW");
  assert.equal(found.customData, ORDER.customData);
  assert.deepEqual(found.amount, amount(1000));
  assert.deepEqual(found.method, { type: "PaymentMethodCard" });
  assert.equal(found.origin.platformType, "API");
  assert.equal(found.channel.type, "TEST");
  assert.deepEqual(found.disputes, []);
  assert.equal(found.pgTxId, paid.payment.pgTxId);
  assert.equal(found.paidAt, paid.payment.paidAt);
});

test("the SDK sends its JSON as text/plain, and fakepay reads it all the same", async () => {
  const sent = [];
  const fetch = globalThis.fetch;
  globalThis.fetch = (url, init) => {
    sent.push(new Request(url, init).headers.get("content-type"));
    return fetch(url, init);
  };
  try {
    await payInstantly(id("plain"), 2500);
    await payment.cancelPayment({ paymentId: id("plain"), reason: "sent as text", amount: 500 });
  } finally {
    globalThis.fetch = fetch;
  }
  assert.deepEqual(sent, ["text/plain;charset=UTF-8", "text/plain;charset=UTF-8"]);
  const found = await payment.getPayment({ paymentId: id("plain") });
  assert.equal(found.status, "PARTIAL_CANCELLED");
  assert.equal(found.orderName, ORDER.orderName);
  assert.deepEqual(found.amount, amount(2500, 500));
  assert.equal(found.cancellations[0].reason, "sent as text");
});

test("a billing key issued by card pays, and the payment names the key", async () => {
  const issued = await payment.billingKey.issueBillingKey({ method: CARD });
  const { billingKey } = issued.billingKeyInfo;
  assert.equal(typeof billingKey, "string");
  assert.equal(issued.billingKeyInfo.channels.length, 1);
  const paid = await payment.payWithBillingKey({ paymentId: id("key"), billingKey, amount: { total: 4900 }, ...ORDER });
  assert.deepEqual(Object.keys(paid.payment).sort(), ["paidAt", "pgTxId"]);
  const found = await payment.getPayment({ paymentId: id("key") });
  assert.equal(found.status, "PAID");
  assert.equal(found.billingKey, billingKey);
  assert.equal(found.orderName, ORDER.orderName);
  assert.deepEqual(found.amount, amount(4900));
  assert.equal(found.pgTxId, paid.payment.pgTxId);
  const info = await payment.billingKey.getBillingKeyInfo({ billingKey });
  assert.equal(info.status, "ISSUED");
  assert.equal(info.billingKey, billingKey);
});

test("a part cancelled leaves the payment partly cancelled; the rest cancelled, cancelled", async () => {
  await payInstantly(id("cancel"), 1000);
  const part = await payment.cancelPayment({ paymentId: id("cancel"), reason: "one item returned", amount: 300 });
  assert.equal(part.cancellation.status, "SUCCEEDED");
  assert.equal(part.cancellation.totalAmount, 300);
  assert.equal(part.cancellation.taxFreeAmount, 0);
  assert.equal(part.cancellation.reason, "one item returned");
  let found = await payment.getPayment({ paymentId: id("cancel") });
  assert.equal(found.status, "PARTIAL_CANCELLED");
  assert.deepEqual(found.amount, amount(1000, 300));
  assert.deepEqual(found.cancellations, [part.cancellation]);
  assert.equal(found.cancelledAt, part.cancellation.cancelledAt);

  const rest = await payment.cancelPayment({ paymentId: id("cancel"), reason: "order cancelled" });
  assert.equal(rest.cancellation.totalAmount, 700);
  found = await payment.getPayment({ paymentId: id("cancel") });
  assert.equal(found.status, "CANCELLED");
  assert.deepEqual(found.amount, amount(1000, 1000));
  assert.deepEqual(found.cancellations.map((c) => c.totalAmount), [300, 700]);
  assert.equal(found.cancelledAt, rest.cancellation.cancelledAt);
});

test("a page of payments, newest first, as the filter lets them through", async () => {
  const storeId = `store-${run}`;
  for (const name of ["list-1", "list-2", "list-3"]) {
    await payInstantly(id(name), 100, { storeId });
  }
  await payment.cancelPayment({ paymentId: id("list-2"), reason: "changed my mind", storeId });
  const paid = await payment.getPayments({ page: { number: 0, size: 10 }, filter: { storeId, status: ["PAID"] } });
  assert.deepEqual(paid.items.map((p) => [p.id, p.status]), [[id("list-3"), "PAID"], [id("list-1"), "PAID"]]);
  assert.deepEqual(paid.page, { number: 0, size: 10, totalCount: 2 });
  const second = await payment.getPayments({ page: { number: 1, size: 2 }, filter: { storeId } });
  assert.deepEqual(second.items.map((p) => p.id), [id("list-1")]);
  assert.deepEqual(second.page, { number: 1, size: 2, totalCount: 3 });
});

test("a payment never made is PAYMENT_NOT_FOUND", async () => {
  await rejects(payment.getPayment({ paymentId: id("never") }), "GetPaymentError", "PAYMENT_NOT_FOUND");
  await rejects(payment.cancelPayment({ paymentId: id("never"), reason: "r" }), "CancelPaymentError", "PAYMENT_NOT_FOUND");
});

test("paying a paid payment again is ALREADY_PAID, and changes nothing", async () => {
  await payInstantly(id("twice"), 1000);
  await rejects(payInstantly(id("twice"), 2000), "PayInstantlyError", "ALREADY_PAID");
  assert.deepEqual((await payment.getPayment({ paymentId: id("twice") })).amount, amount(1000));
});

test("cancelling more than is left is CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT; a cancelled one, PAYMENT_ALREADY_CANCELLED", async () => {
  await payInstantly(id("over"), 1000);
  await payment.cancelPayment({ paymentId: id("over"), reason: "r", amount: 600 });
  await rejects(payment.cancelPayment({ paymentId: id("over"), reason: "r", amount: 500 }),
    "CancelPaymentError", "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT");
  await payment.cancelPayment({ paymentId: id("over"), reason: "r" });
  await rejects(payment.cancelPayment({ paymentId: id("over"), reason: "r" }), "CancelPaymentError", "PAYMENT_ALREADY_CANCELLED");
});

test("an empty secret is UNAUTHORIZED", async () => {
  const stranger = PortOneClient({ secret: "", baseUrl }).payment;
  await rejects(stranger.getPayment({ paymentId: id("get") }), "GetPaymentError", "UNAUTHORIZED");
  await rejects(stranger.payInstantly({ paymentId: id("stranger"), method: CARD, amount: { total: 1 }, ...ORDER }),
    "PayInstantlyError", "UNAUTHORIZED");
});

/** POST, PATCH... `body` to fakepay's control API at `path`; its JSON answer. */
const control = async (method, path, body) => {
  const response = await fetch(`${baseUrl}/__fakepay${path}`, {
    method, headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  return answer;
};

/**
 * A webhook receiver on a free port of this machine, verifying each delivery with the SDK as a shop
 * would, with the secret it is given once fakepay has told it. `next()` is the next delivery:
 * `{ id, event }` when verified (answered 200), `{ id, error }` when not (answered 400).
 */
const receiver = async () => {
  const arrived = [];
  const waiting = [];
  const hook = {
    secret: undefined,
    next: () => (arrived.length ? Promise.resolve(arrived.shift()) : new Promise((resolve) => waiting.push(resolve))),
  };
  hook.server = createServer(async (request, response) => {
    let body = "";
    for await (const chunk of request.setEncoding("utf8")) body += chunk;
    const delivery = { id: request.headers["webhook-id"] };
    try {
      // Node's request.headers is a plain object: the SDK finds its headers there whatever their case.
      delivery.event = await Webhook.verify(hook.secret, body, request.headers);
      response.writeHead(200).end();
    } catch (error) {
      delivery.error = error;
      response.writeHead(400).end();
    }
    (waiting.shift() ?? ((d) => arrived.push(d)))(delivery);
  });
  await new Promise((resolve) => hook.server.listen(0, "127.0.0.1", resolve));
  hook.url = `http://127.0.0.1:${hook.server.address().port}/webhook`;
  return hook;
};

test("fakepay's webhooks pass Webhook.verify, and one a rule signs badly does not", async () => {
  const hook = await receiver();
  try {
    const settings = (await control("PATCH", "/config", { webhook: { url: hook.url } })).webhook;
    assert.equal(settings.url, hook.url);
    assert.match(settings.secret, /^whsec_/);
    hook.secret = settings.secret;

    await payInstantly(id("webhook"), 1000);
    const paid = await hook.next();
    assert.equal(paid.error, undefined);
    assert.equal(paid.event.type, "Transaction.Paid");
    assert.deepEqual(Object.keys(paid.event).sort(), ["data", "timestamp", "type"]);
    assert.deepEqual(Object.keys(paid.event.data).sort(), ["paymentId", "storeId", "transactionId"]);
    assert.equal(paid.event.data.paymentId, id("webhook"));

    await control("POST", "/rules", { when: { operation: "webhook", paymentId: id("signed-badly") }, then: "bad_signature", times: 1 });
    await payInstantly(id("signed-badly"), 1000);
    const refused = await hook.next();
    assert.ok(refused.error instanceof Webhook.WebhookVerificationError, `${refused.error}`);
    assert.equal(refused.error.reason, "NO_MATCHING_SIGNATURE");
  } finally {
    await control("PATCH", "/config", { webhook: { url: null } });
    await new Promise((resolve) => hook.server.close(resolve));
  }
});
