// A test class on a scenario that ships with fakepay, by name: it gets a fakepay of its own,
// shared with every class on the same scenario (with FAKEPAY_URL set, the fakepay there), its
// sandbox loads the scenario, and each test starts at the scenario's start.

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfEnvironmentVariable;
import org.junit.jupiter.api.extension.RegisterExtension;

class LostResponsesTest {

    @RegisterExtension
    static final FakePayExtension fakepay = new FakePayExtension("lost-responses");

    @RepeatedTest(2)
    void theFirstPaymentsAnswerIsLostAndTheSecondOnesConnectionReset() throws Exception {
        PaymentClient client = new PaymentClient(fakepay.url(), fakepay.secret("alice"), Duration.ofSeconds(2), 3);

        assertEquals("order-1", client.pay("order-1", PaymentClientTest.ORDER).paymentId());
        assertEquals("order-2", client.pay("order-2", PaymentClientTest.ORDER).paymentId());

        List<String> outcomes = new ArrayList<>();
        for (JsonNode entry : PaymentClient.JSON.readTree(fakepay.requests("operation=instant")).get("requests")) {
            outcomes.add(entry.get("params").get("paymentId").asText() + " " + entry.get("outcome").asText());
        }
        assertEquals(List.of("order-1 lost_response", "order-2 reset", "order-2 ok"), outcomes);
    }

    @Test
    @DisabledIfEnvironmentVariable(named = "FAKEPAY_URL", matches = ".+", disabledReason = "every class uses the fakepay at FAKEPAY_URL")
    void aClassOnAnotherScenarioHasAFakepayOfItsOwn() {
        assertNotEquals(PaymentClientTest.fakepay.url(), fakepay.url());
    }
}
