using Microsoft.Extensions.Logging;
using EventGateway.Events.Log;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// One trigger kind (argoWorkflow, k8s, http, kafka, log). Fires once per call; the sensor pipeline owns
/// retries (Polly), dead-lettering, dedup and recording. Must not keep state between firings except
/// connections it can reuse.
/// </summary>
public interface ITrigger
{
    /// <summary>The Argo key of the kind under <c>template</c>, e.g. <c>http</c>.</summary>
    string Kind { get; }

    /// <exception cref="TriggerException">the firing failed; <see cref="TriggerException.Retryable"/> says whether to try again.</exception>
    Task<TriggerResult> FireAsync(TriggerFiring firing, TriggerContext context, CancellationToken ct);
}

/// <summary>
/// The events that satisfied a trigger's conditions, keyed by dependency name, with the dedup key that
/// identifies this firing (deterministic names of created objects derive from it).
/// </summary>
public sealed record TriggerFiring(
    Sensor Sensor,
    SensorTrigger Trigger,
    IReadOnlyDictionary<string, CloudEvent> Events,
    string DedupKey,
    IReadOnlyList<long> Sequences)
{
    public string Namespace => Sensor.NamespaceOrDefault;
    public string TriggerName => Trigger.Template?.Name ?? "";
}

/// <summary>What a firing did, for the event's recorded path, e.g. "workflow ci-7f3a created" or "POST http://x → 200".</summary>
public sealed record TriggerResult(string Detail, string? CreatedKind = null, string? CreatedName = null);

public sealed class TriggerException(string message, bool retryable = true, Exception? inner = null) : Exception(message, inner)
{
    public bool Retryable { get; } = retryable;
}

/// <summary>Services triggers use. One per sensor host.</summary>
public sealed class TriggerContext(IResourceStore store, SecretResolver secrets, TriggerHttpClients http, TimeProvider time, ILogger logger)
{
    public IResourceStore Store { get; } = store;
    public SecretResolver Secrets { get; } = secrets;
    public TriggerHttpClients Http { get; } = http;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = logger;
}

/// <summary>
/// Shared HttpClients for outbound triggers (one verifying TLS, one not, for <c>tls.insecureSkipVerify</c>),
/// so firings reuse connections instead of exhausting sockets. Timeouts are per request; redirects are
/// followed (up to 10) as Go's client does for Argo.
/// </summary>
public sealed class TriggerHttpClients : IDisposable
{
    private readonly Lazy<HttpClient> _verifying = new(() => Create(insecure: false));
    private readonly Lazy<HttpClient> _insecure = new(() => Create(insecure: true));

    public HttpClient Get(bool insecureSkipVerify = false) => insecureSkipVerify ? _insecure.Value : _verifying.Value;

    private static HttpClient Create(bool insecure)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = true, MaxAutomaticRedirections = 10 };
        if (insecure) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public void Dispose()
    {
        if (_verifying.IsValueCreated) _verifying.Value.Dispose();
        if (_insecure.IsValueCreated) _insecure.Value.Dispose();
    }
}
