using Confluent.Kafka;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.Kafka;

/// <summary>
/// The librdkafka consumer configuration of one kafka event: brokers, the sarama <c>config</c> where it
/// translates, TLS and SASL from Secrets, and the offset handling of its mode. Offsets are never stored
/// automatically: the listener stores (group) or checkpoints (partition) a message only once its event is durable.
/// </summary>
public static class KafkaClientConfig
{
    /// <returns>librdkafka's settings by name, and the sarama <c>config</c> fields that have no equivalent.</returns>
    public static async Task<(IReadOnlyDictionary<string, string> Settings, IReadOnlyList<string> Ignored)> BuildAsync(KafkaEventSource spec, ListenerContext ctx, CancellationToken ct)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = spec.Url,
            ClientId = $"egw-{ctx.Namespace}-{ctx.SourceName}-{ctx.EventName}",
            EnableAutoOffsetStore = false,
            // sarama's default commit interval; a crash replays at most about this much.
            AutoCommitIntervalMs = 1000,
        };
        var (settings, ignored) = SaramaConfig.Translate(spec.Config);
        foreach (var (key, value) in settings) config.Set(key, value);

        if (spec.ConsumerGroup is { } group)
        {
            config.GroupId = group.GroupName;
            config.EnableAutoCommit = true;
            if (group.Oldest == true) config.AutoOffsetReset = AutoOffsetReset.Earliest;
            else if (!settings.Any(s => s.Key == "auto.offset.reset")) config.AutoOffsetReset = AutoOffsetReset.Latest;
            config.PartitionAssignmentStrategy = group.RebalanceStrategy switch
            {
                "roundrobin" => PartitionAssignmentStrategy.RoundRobin,
                // librdkafka's sticky assignor is the cooperative one.
                "sticky" => PartitionAssignmentStrategy.CooperativeSticky,
                _ => PartitionAssignmentStrategy.Range,
            };
        }
        else
        {
            // Partition mode reads with assign(): librdkafka wants a group id but none is joined or committed.
            config.GroupId = config.ClientId;
            config.EnableAutoCommit = false;
            // A checkpoint the broker no longer has (retention, recreated topic): take what is left rather than skip ahead.
            config.AutoOffsetReset = AutoOffsetReset.Earliest;
        }

        var at = $"spec.kafka.{ctx.EventName}";
        if (spec.Tls is { } tls)
        {
            if (tls.CaCertSecret is { } ca) config.Set("ssl.ca.pem", await ctx.Secrets.RequireAsync(ctx.Namespace, ca, $"{at}.tls.caCertSecret", ct).ConfigureAwait(false));
            if (tls.ClientCertSecret is { } cert) config.Set("ssl.certificate.pem", await ctx.Secrets.RequireAsync(ctx.Namespace, cert, $"{at}.tls.clientCertSecret", ct).ConfigureAwait(false));
            if (tls.ClientKeySecret is { } key) config.Set("ssl.key.pem", await ctx.Secrets.RequireAsync(ctx.Namespace, key, $"{at}.tls.clientKeySecret", ct).ConfigureAwait(false));
            if (tls.InsecureSkipVerify == true)
            {
                config.EnableSslCertificateVerification = false;
                config.SslEndpointIdentificationAlgorithm = SslEndpointIdentificationAlgorithm.None;
            }
        }
        if (spec.Sasl is { } sasl)
        {
            config.Set("sasl.mechanism", string.IsNullOrEmpty(sasl.Mechanism) ? "PLAIN" : sasl.Mechanism);
            if (sasl.UserSecret is { } user) config.SaslUsername = await ctx.Secrets.RequireAsync(ctx.Namespace, user, $"{at}.sasl.userSecret", ct).ConfigureAwait(false);
            if (sasl.PasswordSecret is { } password) config.SaslPassword = await ctx.Secrets.RequireAsync(ctx.Namespace, password, $"{at}.sasl.passwordSecret", ct).ConfigureAwait(false);
        }
        config.SecurityProtocol = (spec.Tls is not null, spec.Sasl is not null) switch
        {
            (true, true) => SecurityProtocol.SaslSsl,
            (true, false) => SecurityProtocol.Ssl,
            (false, true) => SecurityProtocol.SaslPlaintext,
            _ => SecurityProtocol.Plaintext,
        };
        return (config.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), ignored);
    }
}
