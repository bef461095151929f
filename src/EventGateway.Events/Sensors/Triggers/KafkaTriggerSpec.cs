using System.Text.Json.Nodes;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>Argo's <c>KafkaTrigger</c> (sensor_types.go), read from <c>template.kafka</c>.</summary>
internal sealed class KafkaTriggerSpec
{
    private static readonly string[] SaslMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

    /// <summary>Brokers, comma-separated.</summary>
    public string? Url { get; set; }
    public string? Topic { get; set; }

    /// <summary>Deprecated in Argo and ignored by its hash partitioner; accepted and ignored here too.</summary>
    public int? Partition { get; set; }
    public List<TriggerParameter>? Parameters { get; set; }

    /// <summary>sarama's RequiredAcks: 1 the leader, -1 all in-sync replicas; 0 or unset means all, as in Argo.</summary>
    public int? RequiredAcks { get; set; }

    /// <summary>snappy when true.</summary>
    public bool? Compress { get; set; }

    /// <summary>Argo's default 500, handed to sarama as a time.Duration, i.e. nanoseconds.</summary>
    public int? FlushFrequency { get; set; }
    public TlsConfig? Tls { get; set; }
    public List<TriggerParameter>? Payload { get; set; }

    /// <summary>The message key, literally (a parameter can write it from an event); null sends no key.</summary>
    public string? PartitioningKey { get; set; }

    /// <summary>sarama's protocol version; librdkafka negotiates versions with the broker, so it has no effect here.</summary>
    public string? Version { get; set; }
    public SaslConfig? Sasl { get; set; }
    public JsonObject? SchemaRegistry { get; set; }
    public Dictionary<string, string>? Headers { get; set; }
    public List<SecureHeaderSpec>? SecureHeaders { get; set; }

    public IEnumerable<string> Brokers => (Url ?? "").Split(',', StringSplitOptions.TrimEntries);

    public void Validate(string at, IReadOnlyCollection<string>? dependencies, Action<string, string> fail)
    {
        if (string.IsNullOrWhiteSpace(Url)) fail($"{at}.url", "missing: the broker address(es), comma-separated, e.g. kafka:9092");
        else if (Brokers.Any(b => b.Length == 0)) fail($"{at}.url", $"'{Url}' has an empty broker address; separate brokers with single commas");
        if (string.IsNullOrWhiteSpace(Topic)) fail($"{at}.topic", "missing: the topic to produce to");
        if (Payload is null) fail($"{at}.payload", "missing: the parameters that build the message");
        if (RequiredAcks is { } acks && acks is not (-1 or 0 or 1))
            fail($"{at}.requiredAcks", $"must be 1 (the leader), -1 (all in-sync replicas) or 0 (the default, all), got {acks}");
        if (FlushFrequency is < 0) fail($"{at}.flushFrequency", $"must be 0 (the default) or more, got {FlushFrequency}");
        if (Partition is < 0) fail($"{at}.partition", $"must be 0 or more, got {Partition}");
        if (SchemaRegistry is not null)
            fail($"{at}.schemaRegistry", "producing Avro through a schema registry is not supported; send JSON payloads");

        if (Tls is { } tls)
        {
            var client = tls.ClientCertSecret is not null || tls.ClientKeySecret is not null;
            if (client && (tls.ClientCertSecret is null || tls.ClientKeySecret is null))
                fail($"{at}.tls.{(tls.ClientCertSecret is null ? "clientCertSecret" : "clientKeySecret")}", "client TLS needs both clientCertSecret and clientKeySecret");
            TriggerSpec.Selector(tls.CaCertSecret, $"{at}.tls.caCertSecret", fail);
            TriggerSpec.Selector(tls.ClientCertSecret, $"{at}.tls.clientCertSecret", fail);
            TriggerSpec.Selector(tls.ClientKeySecret, $"{at}.tls.clientKeySecret", fail);
        }

        if (Sasl is { } sasl)
        {
            if (!string.IsNullOrEmpty(sasl.Mechanism) && !SaslMechanisms.Contains(sasl.Mechanism, StringComparer.Ordinal))
                fail($"{at}.sasl.mechanism", $"'{sasl.Mechanism}' is not supported; expected one of {string.Join(", ", SaslMechanisms)} (default PLAIN)");
            if (sasl.UserSecret is null) fail($"{at}.sasl.userSecret", "missing: SASL needs both userSecret and passwordSecret");
            if (sasl.PasswordSecret is null) fail($"{at}.sasl.passwordSecret", "missing: SASL needs both userSecret and passwordSecret");
            TriggerSpec.Selector(sasl.UserSecret, $"{at}.sasl.userSecret", fail);
            TriggerSpec.Selector(sasl.PasswordSecret, $"{at}.sasl.passwordSecret", fail);
        }

        foreach (var (name, _) in Headers ?? [])
        {
            if (name.Length == 0) fail($"{at}.headers", "a header needs a name");
        }

        TriggerSpec.SecureHeaders(SecureHeaders, $"{at}.secureHeaders", fail);
        TriggerSpec.Parameters(Parameters, $"{at}.parameters", dependencies, destRequired: true, fail);
        TriggerSpec.Parameters(Payload, $"{at}.payload", dependencies, destRequired: true, fail);
    }
}
