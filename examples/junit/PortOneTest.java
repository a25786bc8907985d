// A PortOne V2 test class: the extension on a PortOne scenario that ships with fakepay serves
// PortOne V2 at its url(), and secret(owner) is the API secret that reaches this class's sandbox.
// Each test starts at the scenario's start, so the cancel of one is never seen by the other.

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PortOneTest {

    @RegisterExtension
    static final FakePayExtension fakepay = new FakePayExtension("portone-shop");

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    /** A PortOne call with the scenario's secret: its status, and its JSON. */
    private static JsonNode call(String method, String path, String body, int status) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(fakepay.url() + path))
                .header("Authorization", "PortOne " + fakepay.secret("test-shop-secret"))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(status, response.statusCode(), response.body());
        return PaymentClient.JSON.readTree(response.body());
    }

    @Test
    void aSeededPaymentIsAPaidPaymentOfPortOne() throws Exception {
        JsonNode payment = call("GET", "/payments/order-paid", null, 200);
        assertEquals("PAID", payment.get("status").asText());
        assertEquals(1500000, payment.get("amount").get("total").asLong());
        assertEquals("V2", payment.get("version").asText());
    }

    @Test
    void aPartialCancelIsPortOnesAndLastsUntilTheNextTest() throws Exception {
        JsonNode cancellation = call("POST", "/payments/order-paid/cancel", "{\"reason\":\"one returned\",\"amount\":500000}", 200);
        assertEquals(500000, cancellation.get("cancellation").get("totalAmount").asLong());
        JsonNode payment = call("GET", "/payments/order-paid", null, 200);
        assertEquals("PARTIAL_CANCELLED", payment.get("status").asText());
        assertEquals(500000, payment.get("amount").get("cancelled").asLong());
        assertEquals("PAYMENT_NOT_FOUND", call("GET", "/payments/order-none", null, 404).get("type").asText());
    }
}
