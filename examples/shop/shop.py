"""A small shop's payment client for the CEOS payment server, as an app would write it.

It pays with a paymentId of its own, retries a 5xx with the same id, and when a response is lost
(connection closed, timeout) asks the server with GET whether the payment went through.
"""

from __future__ import annotations

from typing import Any

import requests


class PaymentError(Exception):
    """The payment could not be made."""


class PaymentClient:
    def __init__(self, base_url: str, secret: str, *, attempts: int = 3, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {secret}"
        self.attempts = attempts
        self.timeout = timeout

    def pay(self, payment_id: str, order_name: str, amount: int, currency: str = "KRW", **extra: Any) -> dict[str, Any]:
        """Pay, retrying 5xx and lost responses with the same id; returns ``{"paymentId", "paidAt"}``."""
        body = {"storeId": "my_store_001", "orderName": order_name, "totalPayAmount": amount, "currency": currency, **extra}
        for _ in range(self.attempts):
            try:
                response = self.session.post(
                    f"{self.base_url}/payments/{payment_id}/instant", json=body, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout):
                paid = self._paid(payment_id)
                if paid:
                    return paid
                continue
            if response.status_code == 200:
                receipt: dict[str, Any] = response.json()
                return receipt
            if response.status_code == 409:
                paid = self._paid(payment_id)
                if paid:
                    return paid
            if response.status_code < 500:
                raise PaymentError(f"{response.status_code}: {response.text}")
        raise PaymentError(f"payment {payment_id} failed after {self.attempts} attempts")

    def lookup(self, payment_id: str) -> dict[str, Any] | None:
        response = self.session.get(f"{self.base_url}/payments/{payment_id}", timeout=self.timeout)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        payment: dict[str, Any] = response.json()
        return payment

    def cancel(self, payment_id: str) -> dict[str, Any]:
        response = self.session.post(f"{self.base_url}/payments/{payment_id}/cancel", timeout=self.timeout)
        if response.status_code != 200:
            raise PaymentError(f"{response.status_code}: {response.text}")
        cancelled: dict[str, Any] = response.json()
        return cancelled

    def _paid(self, payment_id: str) -> dict[str, Any] | None:
        found = self.lookup(payment_id)
        if found and found["paymentStatus"] == "PAID":
            return {"paymentId": found["paymentId"], "paidAt": found["paidAt"]}
        return None
