using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using EventGateway.Events.Kafka;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// Argo Events' <c>kafka</c> trigger: produces the payload to <c>topic</c>, keyed by <c>partitioningKey</c>,
/// with headers (plain and from Secrets), and returns only once the broker acknowledged it (Argo's async
/// producer does not wait; waiting is what lets the pipeline retry a lost message). One producer per distinct
/// configuration is kept for the life of this instance.
/// </summary>
public sealed partial class KafkaTrigger : ITrigger, IDisposable
{
    private const string At = "template.kafka";

    /// <summary>How long librdkafka keeps trying one message before the firing fails (retryable).</summary>
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, Lazy<IProducer<byte[]?, byte[]>>> _producers = new(StringComparer.Ordinal);
    private bool _disposed;

    public string Kind => "kafka";

    /// <summary>Producers currently kept open, one per distinct configuration.</summary>
    internal int ProducerCount => _producers.Count;

    public async Task<TriggerResult> FireAsync(TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(firing);
        ArgumentNullException.ThrowIfNull(context);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var spec = Resolve(firing);
        var payload = TriggerSpec.Payload(spec.Payload, firing, At);

        var message = new Message<byte[]?, byte[]>
        {
            Key = spec.PartitioningKey is { } key ? Encoding.UTF8.GetBytes(key) : null,
            Value = payload,
            Timestamp = new Timestamp(context.Time.GetUtcNow()),
            Headers = [],
        };
        foreach (var (name, value) in spec.Headers ?? []) message.Headers.Add(name, Encoding.UTF8.GetBytes(value));
        foreach (var (name, value) in await TriggerSpec.SecureHeaderValuesAsync(spec.SecureHeaders, context, firing.Namespace, $"{At}.secureHeaders", ct).ConfigureAwait(false))
            message.Headers.Add(name, Encoding.UTF8.GetBytes(value));

        var producer = Producer(await ConfigAsync(spec, firing, context, ct).ConfigureAwait(false), context.Logger);
        var brokers = string.Join(",", spec.Brokers);
        try
        {
            var delivered = await producer.ProduceAsync(spec.Topic!, message, ct).ConfigureAwait(false);
            return new TriggerResult($"kafka {brokers} {delivered.Topic}[{delivered.Partition.Value}]@{delivered.Offset.Value}");
        }
        catch (ProduceException<byte[]?, byte[]> e)
        {
            throw new TriggerException($"kafka {brokers} {spec.Topic}: {e.Error.Reason} ({e.Error.Code})", Retryable(e.Error), e);
        }
        catch (KafkaException e)
        {
            throw new TriggerException($"kafka {brokers} {spec.Topic}: {e.Error.Reason} ({e.Error.Code})", Retryable(e.Error), e);
        }
    }

    /// <summary>The kafka spec after its own parameters, checked as at load time.</summary>
    private static KafkaTriggerSpec Resolve(TriggerFiring firing)
    {
        var problems = new List<string>();
        void Fail(string path, string reason) => problems.Add($"{path}: {reason}");

        var json = firing.Trigger.Template?.Kafka ?? throw new TriggerException($"{At}: missing", retryable: false);
        var declared = TriggerSpec.Read<KafkaTriggerSpec>(json, At, Fail) ?? throw TriggerSpec.Refusal(problems);
        var applied = TriggerSpec.ApplyParameters(json, declared.Parameters, firing, At);
        var spec = ReferenceEquals(applied, json) ? declared : TriggerSpec.Read<KafkaTriggerSpec>(applied, At, Fail) ?? throw TriggerSpec.Refusal(problems);
        spec.Validate(At, dependencies: null, Fail);
        if (problems.Count > 0) throw TriggerSpec.Refusal(problems);
        return spec;
    }

    /// <summary>librdkafka's producer settings for the spec, secrets included (never logged).</summary>
    private static async Task<SortedDictionary<string, string>> ConfigAsync(KafkaTriggerSpec spec, TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var ns = firing.Namespace;
        var config = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = string.Join(",", spec.Brokers),
            ["client.id"] = "egw-kafka-trigger",
            ["acks"] = spec.RequiredAcks is null or 0 or -1 ? "all" : "1",
            // librdkafka's fnv1a_random is sarama's default hash partitioner: a key lands where Argo would put it.
            ["partitioner"] = "fnv1a_random",
            // Argo passes flushFrequency (ms by its docs) to sarama as a time.Duration, i.e. nanoseconds.
            ["linger.ms"] = ((spec.FlushFrequency is > 0 and var ff ? ff : 500) / 1_000_000.0).ToString("0.######", CultureInfo.InvariantCulture),
            // sarama's Producer.Timeout.
            ["request.timeout.ms"] = "10000",
            ["message.timeout.ms"] = ((int)DeliveryTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
        };
        if (spec.Compress == true) config["compression.type"] = "snappy";

        if (spec.Tls is { } tls)
        {
            if (tls.CaCertSecret is { } ca) config["ssl.ca.pem"] = await RequiredSecretAsync(context, ns, ca, $"{At}.tls.caCertSecret", ct).ConfigureAwait(false);
            if (tls.ClientCertSecret is { } cert) config["ssl.certificate.pem"] = await RequiredSecretAsync(context, ns, cert, $"{At}.tls.clientCertSecret", ct).ConfigureAwait(false);
            if (tls.ClientKeySecret is { } key) config["ssl.key.pem"] = await RequiredSecretAsync(context, ns, key, $"{At}.tls.clientKeySecret", ct).ConfigureAwait(false);
            if (tls.InsecureSkipVerify == true)
            {
                config["enable.ssl.certificate.verification"] = "false";
                config["ssl.endpoint.identification.algorithm"] = "none";
            }
        }

        if (spec.Sasl is { } sasl)
        {
            config["sasl.mechanism"] = string.IsNullOrEmpty(sasl.Mechanism) ? "PLAIN" : sasl.Mechanism;
            config["sasl.username"] = await RequiredSecretAsync(context, ns, sasl.UserSecret!, $"{At}.sasl.userSecret", ct).ConfigureAwait(false);
            config["sasl.password"] = await RequiredSecretAsync(context, ns, sasl.PasswordSecret!, $"{At}.sasl.passwordSecret", ct).ConfigureAwait(false);
        }

        config["security.protocol"] = (spec.Tls is not null, spec.Sasl is not null) switch
        {
            (true, true) => "sasl_ssl",
            (true, false) => "ssl",
            (false, true) => "sasl_plaintext",
            _ => "plaintext",
        };
        return config;
    }

    private static async Task<string> RequiredSecretAsync(TriggerContext context, string ns, SecretKeySelector selector, string field, CancellationToken ct) =>
        await TriggerSpec.SecretAsync(context, ns, selector, field, ct).ConfigureAwait(false) ?? "";

    /// <summary>The producer for this exact configuration, created on first use.</summary>
    private IProducer<byte[]?, byte[]> Producer(SortedDictionary<string, string> config, ILogger logger)
    {
        var key = string.Join("\n", config.Select(kv => $"{kv.Key}={kv.Value}"));
        var lazy = _producers.GetOrAdd(key, _ => new Lazy<IProducer<byte[]?, byte[]>>(() => Create(config, logger)));
        try
        {
            return lazy.Value;
        }
        catch (TriggerException)
        {
            _producers.TryRemove(new KeyValuePair<string, Lazy<IProducer<byte[]?, byte[]>>>(key, lazy));
            throw;
        }
    }

    private static IProducer<byte[]?, byte[]> Create(SortedDictionary<string, string> config, ILogger logger)
    {
        try
        {
            KafkaNative.EnsureLoaded();
            return new ProducerBuilder<byte[]?, byte[]>(config)
                .SetErrorHandler((_, e) => Log.ClientError(logger, config["bootstrap.servers"], e.Reason, e.Code.ToString()))
                .SetLogHandler((_, m) => Log.Client(logger, config["bootstrap.servers"], m.Facility, m.Message))
                .Build();
        }
        catch (Exception e) when (e is KafkaException or ArgumentException or InvalidOperationException)
        {
            throw new TriggerException($"{At}: cannot create a producer for {config["bootstrap.servers"]}: {e.Message}", retryable: false, e);
        }
    }

    /// <summary>Transport trouble, timeouts and broker hiccups are worth another try; refusals of the message or the client are not.</summary>
    private static bool Retryable(Error error) => !error.IsFatal && error.Code is not (
        ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidMsg or ErrorCode.InvalidMsgSize
        or ErrorCode.TopicException or ErrorCode.Local_UnknownTopic or ErrorCode.UnknownTopicOrPart
        or ErrorCode.TopicAuthorizationFailed or ErrorCode.ClusterAuthorizationFailed
        or ErrorCode.SaslAuthenticationFailed or ErrorCode.Local_Authentication or ErrorCode.InvalidRequiredAcks
        or ErrorCode.Local_InvalidArg or ErrorCode.Local_BadMsg);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var lazy in _producers.Values)
        {
            if (!lazy.IsValueCreated) continue;
            try
            {
                // Every firing waited for its delivery; only cancelled ones can still be queued.
                lazy.Value.Flush(TimeSpan.FromSeconds(2));
            }
            catch (KafkaException)
            {
                // Closing anyway: what is still queued was reported as failed or cancelled to its firing.
            }

            lazy.Value.Dispose();
        }

        _producers.Clear();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "kafka trigger producer for {Brokers}: {Reason} ({Code})")]
        public static partial void ClientError(ILogger logger, string brokers, string reason, string code);

        [LoggerMessage(Level = LogLevel.Debug, Message = "kafka trigger producer for {Brokers}: {Facility} {Message}")]
        public static partial void Client(ILogger logger, string brokers, string facility, string message);
    }
}
