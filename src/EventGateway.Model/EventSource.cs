using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace EventGateway.Model;

/// <summary>
/// Argo Events <c>EventSource</c>: named event producers grouped by type. Each map key under a type
/// is an event name; the pair (EventSource name, event name) is what a Sensor dependency selects.
/// Only the types this service runs are typed here; the others are refused at load by name.
/// </summary>
public sealed class EventSource : Resource
{
    public EventSourceSpec Spec { get; set; } = new();
    public JsonObject? Status { get; set; }
}

public sealed class EventSourceSpec
{
    public string? EventBusName { get; set; }
    /// <summary>Pod template, service and replica settings of a Kubernetes deployment: accepted, meaningless here.</summary>
    public JsonObject? Template { get; set; }
    public JsonObject? Service { get; set; }
    public int? Replicas { get; set; }

    public Dictionary<string, WebhookEventSource>? Webhook { get; set; }
    public Dictionary<string, GithubEventSource>? Github { get; set; }
    public Dictionary<string, S3EventSource>? Minio { get; set; }
    public Dictionary<string, S3EventSource>? S3 { get; set; }
    public Dictionary<string, KafkaEventSource>? Kafka { get; set; }
    public Dictionary<string, CalendarEventSource>? Calendar { get; set; }

    /// <summary>Every other Argo source type (amqp, nats, sqs, ...): kept so the refusal can name it.</summary>
    [JsonExtensionData]
    public Dictionary<string, System.Text.Json.JsonElement>? Unsupported { get; set; }
}

/// <summary>Reference to one key of a Secret in the EventSource's namespace.</summary>
public sealed class SecretKeySelector
{
    public string? Name { get; set; }
    public string? Key { get; set; }
    public bool? Optional { get; set; }
    public override string ToString() => $"{Name}/{Key}";
}

public sealed class EventSourceFilter
{
    /// <summary>expr-lang expression over the event's data (e.g. <c>body.action == "opened"</c>).</summary>
    public string? Expression { get; set; }
}

/// <summary>HTTP listener settings shared by webhook-style sources.</summary>
public sealed class WebhookContext
{
    public string? Endpoint { get; set; }
    public string? Method { get; set; }
    public string? Port { get; set; }
    public string? Url { get; set; }
    public SecretKeySelector? ServerCertSecret { get; set; }
    public SecretKeySelector? ServerKeySecret { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
    public SecretKeySelector? AuthSecret { get; set; }
    public long? MaxPayloadSize { get; set; }
    /// <summary>Deprecated in Argo (files on the pod); refused here with a pointer to the Secret form.</summary>
    public string? ServerCertPath { get; set; }
    public string? ServerKeyPath { get; set; }
}

/// <summary>The <c>webhook</c> source: WebhookContext inline plus a filter.</summary>
public sealed class WebhookEventSource
{
    public string? Endpoint { get; set; }
    public string? Method { get; set; }
    public string? Port { get; set; }
    public string? Url { get; set; }
    public SecretKeySelector? ServerCertSecret { get; set; }
    public SecretKeySelector? ServerKeySecret { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
    public SecretKeySelector? AuthSecret { get; set; }
    public long? MaxPayloadSize { get; set; }
    public string? ServerCertPath { get; set; }
    public string? ServerKeyPath { get; set; }
    public EventSourceFilter? Filter { get; set; }

    public WebhookContext Context => new()
    {
        Endpoint = Endpoint, Method = Method, Port = Port, Url = Url, ServerCertSecret = ServerCertSecret, ServerKeySecret = ServerKeySecret,
        Metadata = Metadata, AuthSecret = AuthSecret, MaxPayloadSize = MaxPayloadSize, ServerCertPath = ServerCertPath, ServerKeyPath = ServerKeyPath,
    };
}

public sealed class GithubRepositories
{
    public string? Owner { get; set; }
    public List<string>? Names { get; set; }
}

public sealed class GithubEventSource
{
    public long? Id { get; set; }
    public WebhookContext? Webhook { get; set; }
    public string? Owner { get; set; }
    public string? Repository { get; set; }
    public List<string>? Events { get; set; }
    public SecretKeySelector? ApiToken { get; set; }
    public SecretKeySelector? WebhookSecret { get; set; }
    public bool? Insecure { get; set; }
    public bool? Active { get; set; }
    public string? ContentType { get; set; }
    [JsonPropertyName("githubBaseURL")] public string? GithubBaseUrl { get; set; }
    [JsonPropertyName("githubUploadURL")] public string? GithubUploadUrl { get; set; }
    public bool? DeleteHookOnFinish { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
    public List<GithubRepositories>? Repositories { get; set; }
    public List<string>? Organizations { get; set; }
    public GithubAppCredentials? GithubApp { get; set; }
    public EventSourceFilter? Filter { get; set; }
    public JsonObject? PayloadEnrichment { get; set; }
}

/// <summary>Argo's <c>githubApp</c>: registers hooks as a GitHub App installation instead of with a personal token.</summary>
public sealed class GithubAppCredentials
{
    /// <summary>The App's private key (PEM), from a Secret.</summary>
    public SecretKeySelector? PrivateKey { get; set; }
    [JsonPropertyName("appID")] public long? AppId { get; set; }
    [JsonPropertyName("installationID")] public long? InstallationId { get; set; }
}

public sealed class S3Bucket
{
    public string? Name { get; set; }
    public string? Key { get; set; }
}

public sealed class S3Filter
{
    public string? Prefix { get; set; }
    public string? Suffix { get; set; }
}

/// <summary>Argo's S3Artifact as used by the <c>minio</c> and <c>s3</c> sources.</summary>
public sealed class S3EventSource
{
    public string? Endpoint { get; set; }
    public S3Bucket? Bucket { get; set; }
    public string? Region { get; set; }
    public bool? Insecure { get; set; }
    public SecretKeySelector? AccessKey { get; set; }
    public SecretKeySelector? SecretKey { get; set; }
    public SecretKeySelector? SessionToken { get; set; }
    [JsonPropertyName("roleARN")] public string? RoleArn { get; set; }
    public List<string>? Events { get; set; }
    public S3Filter? Filter { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
    public JsonObject? CaCertificate { get; set; }
    public bool? UseSDKCreds { get; set; }
    public JsonObject? EncryptionOptions { get; set; }
}

public sealed class KafkaConsumerGroup
{
    public string? GroupName { get; set; }
    public bool? Oldest { get; set; }
    public string? RebalanceStrategy { get; set; }
}

public sealed class ConnectionBackoff
{
    /// <summary>Go duration string or integer nanoseconds, as Argo accepts.</summary>
    public JsonNode? Duration { get; set; }
    public JsonNode? Factor { get; set; }
    public JsonNode? Jitter { get; set; }
    public int? Steps { get; set; }
}

public sealed class TlsConfig
{
    public SecretKeySelector? CaCertSecret { get; set; }
    public SecretKeySelector? ClientCertSecret { get; set; }
    public SecretKeySelector? ClientKeySecret { get; set; }
    public bool? InsecureSkipVerify { get; set; }
}

public sealed class SaslConfig
{
    public string? Mechanism { get; set; }
    public SecretKeySelector? UserSecret { get; set; }
    public SecretKeySelector? PasswordSecret { get; set; }
}

public sealed class KafkaEventSource
{
    public string? Url { get; set; }
    public string? Partition { get; set; }
    public string? Topic { get; set; }
    public ConnectionBackoff? ConnectionBackoff { get; set; }
    public TlsConfig? Tls { get; set; }
    public bool? JsonBody { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
    public KafkaConsumerGroup? ConsumerGroup { get; set; }
    public long? LimitEventsPerSecond { get; set; }
    public string? Version { get; set; }
    public SaslConfig? Sasl { get; set; }
    public EventSourceFilter? Filter { get; set; }
    public string? Config { get; set; }
}

public sealed class CalendarCatchup
{
    public bool? Enabled { get; set; }
    public string? MaxDuration { get; set; }
}

public sealed class CalendarPersistence
{
    public CalendarCatchup? Catchup { get; set; }
    public JsonObject? ConfigMap { get; set; }
}

public sealed class CalendarEventSource
{
    public string? Schedule { get; set; }
    public string? Interval { get; set; }
    public List<string>? ExclusionDates { get; set; }
    public string? Timezone { get; set; }
    public JsonNode? UserPayload { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
    public CalendarPersistence? Persistence { get; set; }
    public EventSourceFilter? Filter { get; set; }
}
