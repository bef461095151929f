namespace EventGateway.Workflows.Agent;

/// <summary>
/// The HttpClients every http template shares: pooled connections with a per-server cap (requests beyond it
/// queue for a connection, still under their own timeout), and redirects followed as Go's client does (at most
/// 10; never from https to http; .NET drops Authorization on every redirect, Go on a change of host).
/// </summary>
public sealed class AgentHttpClients : IDisposable
{
    public const int MaxConnectionsPerServer = 32;

    private readonly Lazy<HttpClient> _verifying = new(() => Create(insecure: false));
    private readonly Lazy<HttpClient> _insecure = new(() => Create(insecure: true));

    public HttpClient Get(bool insecureSkipVerify) => insecureSkipVerify ? _insecure.Value : _verifying.Value;

    private static HttpClient Create(bool insecure)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = MaxConnectionsPerServer,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
        };
        if (insecure) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        // Each request carries its own timeout (timeoutSeconds) and the node's cancellation.
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public void Dispose()
    {
        if (_verifying.IsValueCreated) _verifying.Value.Dispose();
        if (_insecure.IsValueCreated) _insecure.Value.Dispose();
    }
}
