// The shop's payment client against fakepay, through FakePayExtension: each test starts from a
// reset sandbox with no random failures, and forces the failure it is about.

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PaymentClientTest {

    @RegisterExtension
    static final FakePayExtension fakepay = new FakePayExtension();

    static final PaymentClient.PaymentRequest ORDER =
            new PaymentClient.PaymentRequest("my_store_001", "노트북외 1건", 1_500_000, "KRW", "{\"item\":\"노트북\",\"quantity\":1}");

    PaymentClient client(String githubId) {
        return new PaymentClient(fakepay.url(), fakepay.secret(githubId), Duration.ofMillis(500), 3);
    }

    /** The journal's entries for instant payments: their status (null: closed unanswered) and outcome. */
    static List<String> instantAttempts(String owner) throws Exception {
        List<String> attempts = new ArrayList<>();
        for (JsonNode entry : PaymentClient.JSON.readTree(fakepay.requests("operation=instant", "owner=" + owner)).get("requests")) {
            attempts.add(entry.get("status").asText() + " " + entry.get("outcome").asText());
        }
        return attempts;
    }

    @Test
    @Order(1)
    void aPaidOrder() throws Exception {
        PaymentClient.PaymentReceipt receipt = client("alice").pay("order-1", ORDER);

        assertEquals("order-1", receipt.paymentId());
        assertNotNull(receipt.paidAt());
        PaymentClient.Payment payment = client("alice").find("order-1");
        assertEquals("PAID", payment.paymentStatus());
        assertEquals("노트북외 1건", payment.orderName());
        assertEquals(receipt.paidAt(), payment.paidAt());
        assertEquals(List.of("200 ok"), instantAttempts("alice"));
    }

    @Test
    @Order(2)
    void aFailedPaymentIsRetriedWithTheSamePaymentId() throws Exception {
        fakepay.failNext(1);

        PaymentClient.PaymentReceipt receipt = client("alice").pay("order-2", ORDER);

        assertEquals("order-2", receipt.paymentId());
        assertEquals(List.of("500 failed", "200 ok"), instantAttempts("alice"));
        JsonNode stored = PaymentClient.JSON.readTree(fakepay.state()).get("payments").get(0);
        assertEquals(2, stored.get("attempts").asInt());
    }

    @Test
    @Order(3)
    void aLostResponseIsRecoveredByLookupWithoutPayingTwice() throws Exception {
        fakepay.failNext(1, "\"lost_response\"");

        PaymentClient.PaymentReceipt receipt = client("alice").pay("order-3", ORDER);

        assertEquals("PAID", client("alice").find("order-3").paymentStatus());
        assertEquals(client("alice").find("order-3").paidAt(), receipt.paidAt());
        assertEquals(List.of("null lost_response"), instantAttempts("alice"));
    }

    @Test
    @Order(4)
    void aTimeoutIsLookedUpThenRetried() throws Exception {
        fakepay.failNext(1, "{\"timeout_s\": 3}");

        PaymentClient.PaymentReceipt receipt = client("alice").pay("order-4", ORDER);

        assertEquals("order-4", receipt.paymentId());
        assertEquals(List.of("null timeout", "200 ok"), instantAttempts("alice"));
    }

    @Test
    @Order(5)
    void aServerThatNeverAnswersIsReportedAfterEveryAttempt() throws Exception {
        fakepay.addRule("{\"when\": {\"operation\": \"instant\"}, \"then\": {\"timeout_s\": 3}}");

        PaymentClient.PaymentException error =
                assertThrows(PaymentClient.PaymentException.class, () -> client("alice").pay("order-5", ORDER));

        assertEquals("payment order-5: no answer after 3 attempts", error.getMessage());
        assertNull(client("alice").find("order-5"));
    }

    @Test
    @Order(6)
    void everyTestStartsFromAResetServer() throws Exception {
        for (String id : List.of("order-1", "order-2", "order-3", "order-4")) {
            assertNull(client("alice").find(id));
        }
        assertEquals(List.of(), instantAttempts("alice"));
        for (int i = 0; i < 30; i++) {  // and no random failures
            client("alice").pay("again-" + i, ORDER);
        }
        assertEquals(30, PaymentClient.JSON.readTree(fakepay.state()).get("payments").size());
    }

    @Test
    @Order(7)
    void resetOfOneOwnerLeavesTheOthers() {
        client("alice").pay("order-7", ORDER);
        client("bob").pay("order-7", ORDER);

        fakepay.reset("alice");

        assertNull(client("alice").find("order-7"));
        assertEquals("PAID", client("bob").find("order-7").paymentStatus());
    }

    @Test
    @Order(8)
    void aDeclinedPaymentIsReportedWithTheServersError() {
        fakepay.configure("{\"failure\": {\"rate\": 1.0}}");

        PaymentClient.PaymentException error =
                assertThrows(PaymentClient.PaymentException.class, () -> client("alice").pay("order-8", ORDER));

        assertEquals(500, error.status);
        assertEquals("PAYMENT_FAILED", error.type);
        assertEquals("FAILED", client("alice").find("order-8").paymentStatus());
    }

    @Test
    @Order(9)
    void theJdkResendsALookUpWhoseConnectionWasClosedSoTheFaultNeedsTwoTimes() {
        client("alice").pay("order-9", ORDER);

        fakepay.addRule("{\"when\": {\"operation\": \"get\"}, \"then\": \"reset\", \"times\": 1}");
        assertEquals("PAID", client("alice").find("order-9").paymentStatus());  // the app never saw the reset

        fakepay.addRule("{\"when\": {\"operation\": \"get\"}, \"then\": \"reset\", \"times\": 2}");
        assertThrows(PaymentClient.PaymentException.class, () -> client("alice").find("order-9"));
    }
}
