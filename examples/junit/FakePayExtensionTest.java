// FakePayExtension's controls beyond resets and rules: the clock, seeded payments, a scenario loaded
// by name, from a file or as YAML, a rule for one owner; and each undone before the next test.

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FakePayExtensionTest {

    @RegisterExtension
    static final FakePayExtension fakepay = new FakePayExtension();

    static final PaymentClient.PaymentRequest ORDER = PaymentClientTest.ORDER;

    static PaymentClient client(String githubId) {
        return new PaymentClient(fakepay.url(), fakepay.secret(githubId), Duration.ofSeconds(2), 3);
    }

    static JsonNode json(String text) throws Exception {
        return PaymentClient.JSON.readTree(text);
    }

    /** The status and outcome of each instant payment of {@code owner} in the journal. */
    static List<String> instantAttempts(String owner) throws Exception {
        List<String> attempts = new ArrayList<>();
        for (JsonNode entry : json(fakepay.requests("operation=instant", "owner=" + owner)).get("requests")) {
            attempts.add(entry.get("status").asText() + " " + entry.get("outcome").asText());
        }
        return attempts;
    }

    @Test
    @Order(1)
    void theClockIsSetAdvancedAndResumed() throws Exception {
        LocalDateTime at = LocalDateTime.of(2025, 10, 22, 20, 21, 35, 529_482_000);

        assertEquals(at, fakepay.freezeTime(at));
        assertEquals(at, client("alice").pay("order-1", ORDER).paidAt());
        LocalDateTime later = at.plusHours(1).plusNanos(500_000);
        assertEquals(later, fakepay.advanceTime(Duration.ofHours(1).plusNanos(500_000)));
        assertEquals(later, client("alice").pay("order-2", ORDER).paidAt());

        LocalDateTime resumed = fakepay.resumeTime();
        JsonNode clock = json(fakepay.state()).get("clock");
        assertFalse(clock.get("frozen").asBoolean());
        LocalDateTime real = LocalDateTime.now(ZoneId.of(clock.get("timezone").asText()));
        assertTrue(Duration.between(resumed, real).abs().compareTo(Duration.ofMinutes(1)) < 0, resumed + " is not " + real);
    }

    @Test
    @Order(2)
    void aClockStoppedNowShowsEveryPaymentTheSameTime() {
        LocalDateTime now = fakepay.freezeTime();

        assertEquals(now, client("alice").pay("order-1", ORDER).paidAt());
        assertEquals(now, client("alice").pay("order-2", ORDER).paidAt());
    }

    @Test
    @Order(3)
    void aSeededPaymentIsFoundByTheApp() throws Exception {
        JsonNode seeded = json(fakepay.seedPayment("alice", "seeded-1")).get("payments").get(0);

        PaymentClient.Payment found = client("alice").find("seeded-1");
        assertEquals("PAID", found.paymentStatus());
        assertEquals("order", found.orderName());
        assertEquals(LocalDateTime.parse(seeded.get("paidAt").asText()), found.paidAt());
        assertNull(client("bob").find("seeded-1"));
    }

    @Test
    @Order(4)
    void seededPaymentsWithTheirOwnFields() throws Exception {
        fakepay.seedPayments("[{\"owner\": \"alice\", \"paymentId\": \"old-1\", \"storeId\": \"s\", \"orderName\": \"주문2\","
                + " \"totalPayAmount\": 30000, \"currency\": \"KRW\", \"status\": \"CANCELLED\", \"paidAt\": \"2025-10-22T20:12:39.295038\"},"
                + " {\"owner\": \"bob\", \"paymentId\": \"old 2\", \"storeId\": \"s\", \"orderName\": \"o\", \"totalPayAmount\": 1, \"currency\": \"USD\"}]");

        PaymentClient.Payment found = client("alice").find("old-1");
        assertEquals("CANCELLED", found.paymentStatus());
        assertEquals(LocalDateTime.parse("2025-10-22T20:12:39.295038"), found.paidAt());
        assertEquals(30000, json(fakepay.payment("alice", "old-1")).get("totalPayAmount").asInt());
        assertEquals("USD", json(fakepay.payment("bob", "old 2")).get("currency").asText());
        assertNull(fakepay.payment("alice", "old 2"));
        JsonNode bobs = json(fakepay.state("bob")).get("payments");
        assertEquals(1, bobs.size());
        assertEquals("old 2", bobs.get(0).get("paymentId").asText());
    }

    @Test
    @Order(5)
    void aShippedScenarioLoadedByName() throws Exception {
        assertEquals("seeded-payments", json(fakepay.loadScenario("seeded-payments")).get("scenario").asText());

        assertEquals("CANCELLED", client("alice").find("20251022_0002").paymentStatus());
        assertTrue(json(fakepay.state()).get("clock").get("frozen").asBoolean());
    }

    @Test
    @Order(6)
    void aScenarioFileLoaded(@TempDir Path folder) throws Exception {
        Path file = Files.writeString(folder.resolve("mine.yaml"), "version: 1\nname: mine\npayments:\n"
                + "  - {owner: alice, paymentId: mine-1, storeId: s, orderName: o, totalPayAmount: 100, currency: KRW}\n");

        assertEquals("mine", json(fakepay.loadScenario(file.toString())).get("scenario").asText());

        assertEquals("PAID", client("alice").find("mine-1").paymentStatus());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> fakepay.loadScenario(folder.resolve("none.yaml").toString()));
        assertTrue(missing.getMessage().startsWith("no scenario '" + folder.resolve("none.yaml") + "': not a file"), missing.getMessage());
    }

    @Test
    @Order(7)
    void aScenarioWrittenInYaml() throws Exception {
        assertEquals("declines", json(fakepay.loadScenarioYaml("version: 1\nname: declines\nfailure: {rate: 1.0}\n")).get("scenario").asText());

        PaymentClient.PaymentException declined =
                assertThrows(PaymentClient.PaymentException.class, () -> client("alice").pay("order-1", ORDER));
        assertEquals("PAYMENT_FAILED", declined.type);
        IllegalStateException invalid = assertThrows(IllegalStateException.class, () -> fakepay.loadScenarioYaml("version: 2\n"));
        assertTrue(invalid.getMessage().contains(": 400 ") && invalid.getMessage().contains("version"), invalid.getMessage());
    }

    @Test
    @Order(8)
    void aRuleForOneOwnerLeavesTheOthers() throws Exception {
        fakepay.failNext(1, "\"fail\"", "bob");

        client("alice").pay("order-1", ORDER);
        client("bob").pay("order-1", ORDER);

        assertEquals(List.of("200 ok"), instantAttempts("alice"));
        assertEquals(List.of("500 failed", "200 ok"), instantAttempts("bob"));
    }

    @Test
    @Order(9)
    void clearedRulesNoLongerApply() throws Exception {
        fakepay.failNext(2);

        assertEquals(0, json(fakepay.clearRules()).get("rules").size());

        client("alice").pay("order-1", ORDER);
        assertEquals(List.of("200 ok"), instantAttempts("alice"));
    }

    @Test
    @Order(10)
    void aFailureRateAndAClearedJournal() throws Exception {
        assertEquals(1.0, json(fakepay.setFailureRate(1)).get("failure").get("rate").asDouble());
        assertThrows(PaymentClient.PaymentException.class, () -> client("alice").pay("order-1", ORDER));
        assertEquals(List.of("500 failed", "500 failed", "500 failed"), instantAttempts("alice"));

        fakepay.clearRequests();

        assertEquals(0, json(fakepay.requests()).get("requests").size());
    }

    @Test
    @Order(11)
    void theNextTestStartsFromTheStartAgain() throws Exception {
        JsonNode state = json(fakepay.state());

        assertFalse(state.get("clock").get("frozen").asBoolean());
        assertEquals(0, state.get("payments").size());
        assertEquals(0, state.get("rules").size());
        assertEquals(0.0, state.get("config").get("failure").get("rate").asDouble());
        client("alice").pay("order-1", ORDER);
        assertEquals(List.of("200 ok"), instantAttempts("alice"));
    }
}
