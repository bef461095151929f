using System.Globalization;
using EventGateway.Model;
using static EventGateway.Events.EventSources.EventSettingsChecks;

namespace EventGateway.Events.EventSources.Kafka;

/// <summary>Argo's <c>kafka</c> source type: a topic consumed as a group member or one partition. Its checks follow Argo's own validation where it has one.</summary>
public sealed class KafkaSourceType() : EventSourceType<KafkaEventSource>("kafka")
{
    public static KafkaSourceType Instance { get; } = new();

    private static readonly string[] RebalanceStrategies = ["range", "roundrobin", "sticky"];
    private static readonly string[] SaslMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

    protected override Dictionary<string, KafkaEventSource>? EventsOf(EventSourceSpec spec) => spec.Kafka;

    public override IEventListener Listen(KafkaEventSource settings) => new KafkaListener(settings);

    public override void Validate(string at, KafkaEventSource spec, Action<string, string> fail)
    {
        if (string.IsNullOrWhiteSpace(spec.Url)) fail($"{at}.url", "missing: the broker address(es), comma-separated, e.g. kafka:9092");
        else if (spec.Url.Split(',').Any(b => string.IsNullOrWhiteSpace(b)))
            fail($"{at}.url", $"'{spec.Url}' has an empty broker address; separate brokers with single commas");
        if (string.IsNullOrWhiteSpace(spec.Topic)) fail($"{at}.topic", "missing: the topic to consume");

        if (spec.ConsumerGroup is null && spec.Partition is null)
            fail(at, "set consumerGroup (to consume as a member of a group) or partition (to read one partition)");
        // Argo accepts both and consumes as the group; so does this listener (the partition is then ignored).
        if (spec.Partition is { } p && !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            fail($"{at}.partition", $"'{p}' is not a partition number (an integer, 0 or more)");
        if (spec.ConsumerGroup is { } group)
        {
            if (string.IsNullOrWhiteSpace(group.GroupName)) fail($"{at}.consumerGroup.groupName", "missing: the consumer group's name");
            if (!string.IsNullOrEmpty(group.RebalanceStrategy) && !RebalanceStrategies.Contains(group.RebalanceStrategy))
                fail($"{at}.consumerGroup.rebalanceStrategy", $"'{group.RebalanceStrategy}' is not one of {string.Join(", ", RebalanceStrategies)}");
        }
        if (spec.LimitEventsPerSecond is < 0)
            fail($"{at}.limitEventsPerSecond", $"must be 0 (no limit) or more, got {spec.LimitEventsPerSecond}");

        if (spec.Tls is { } tls)
        {
            var client = tls.ClientCertSecret is not null || tls.ClientKeySecret is not null;
            if (tls.CaCertSecret is null && !client && tls.InsecureSkipVerify != true)
                fail($"{at}.tls", "set caCertSecret, or clientCertSecret and clientKeySecret, or both (or insecureSkipVerify)");
            if (client && (tls.ClientCertSecret is null || tls.ClientKeySecret is null))
                fail($"{at}.tls.{(tls.ClientCertSecret is null ? "clientCertSecret" : "clientKeySecret")}", "client TLS needs both clientCertSecret and clientKeySecret");
            ValidateSelector($"{at}.tls.caCertSecret", tls.CaCertSecret, fail);
            ValidateSelector($"{at}.tls.clientCertSecret", tls.ClientCertSecret, fail);
            ValidateSelector($"{at}.tls.clientKeySecret", tls.ClientKeySecret, fail);
        }
        if (spec.Sasl is { } sasl)
        {
            if (sasl.Mechanism is "OAUTHBEARER" or "GSSAPI")
                fail($"{at}.sasl.mechanism", $"{sasl.Mechanism} needs a token provider or Kerberos setup that this source has no fields for; supported: {string.Join(", ", SaslMechanisms)}");
            else if (!string.IsNullOrEmpty(sasl.Mechanism) && !SaslMechanisms.Contains(sasl.Mechanism))
                fail($"{at}.sasl.mechanism", $"'{sasl.Mechanism}' is not a SASL mechanism; expected one of {string.Join(", ", SaslMechanisms)} (default PLAIN)");
            if (sasl.UserSecret is null) fail($"{at}.sasl.userSecret", "missing: SASL needs both userSecret and passwordSecret");
            if (sasl.PasswordSecret is null) fail($"{at}.sasl.passwordSecret", "missing: SASL needs both userSecret and passwordSecret");
            ValidateSelector($"{at}.sasl.userSecret", sasl.UserSecret, fail);
            ValidateSelector($"{at}.sasl.passwordSecret", sasl.PasswordSecret, fail);
        }

        ConnectionRetry.Parse(spec.ConnectionBackoff, (field, reason) => fail($"{at}.connectionBackoff.{field}", reason));
        try
        {
            SaramaConfig.Translate(spec.Config);
        }
        catch (FormatException e)
        {
            fail($"{at}.config", e.Message);
        }
        ValidateFilter(at, spec.Filter, fail);
    }
}
