using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EventGateway.Events.EventSources.Http;

/// <summary>An endpoint on a port, served by one listener's handler.</summary>
public sealed record WebhookRoute(int Port, string Endpoint, RequestDelegate Handler, string Owner, X509Certificate2? Certificate = null);

/// <summary>
/// The HTTP side of webhook-style sources: one Kestrel listener per distinct port, shared by every
/// endpoint registered on it (as Argo's event source pod does), started with the first route and
/// stopped with the last. <c>GET /health</c> answers on every port; unknown endpoints get 404.
/// </summary>
public sealed partial class WebhookServer(string address, ILoggerFactory loggers) : IAsyncDisposable
{
    private sealed class PortHost(int port, X509Certificate2? certificate)
    {
        public int Port { get; } = port;
        public X509Certificate2? Certificate { get; } = certificate;
        public ConcurrentDictionary<string, WebhookRoute> Routes { get; } = new(StringComparer.Ordinal);
        public WebApplication? App { get; set; }
    }

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<int, PortHost> _ports = [];
    private readonly ILogger _log = loggers.CreateLogger<WebhookServer>();

    /// <summary>Serves the route until the returned handle is disposed.</summary>
    /// <exception cref="InvalidOperationException">the endpoint is taken, the port's TLS setting differs, or the port cannot be bound.</exception>
    public async Task<IAsyncDisposable> RegisterAsync(WebhookRoute route, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_ports.TryGetValue(route.Port, out var host))
            {
                host = new PortHost(route.Port, route.Certificate);
                host.Routes[route.Endpoint] = route;
                host.App = await StartAsync(host, ct).ConfigureAwait(false);
                _ports[route.Port] = host;
            }
            else
            {
                if (host.Routes.TryGetValue(route.Endpoint, out var taken))
                    throw new InvalidOperationException($"port {route.Port} endpoint {route.Endpoint} is already served for {taken.Owner}");
                if (!SameCertificate(host.Certificate, route.Certificate))
                    throw new InvalidOperationException($"port {route.Port} is already served {(host.Certificate is null ? "without" : "with a different")} TLS certificate; give this endpoint its own port");
                host.Routes[route.Endpoint] = route;
            }
            return new Registration(this, route);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task UnregisterAsync(WebhookRoute route)
    {
        WebApplication? stop = null;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_ports.TryGetValue(route.Port, out var host) || !host.Routes.TryRemove(new KeyValuePair<string, WebhookRoute>(route.Endpoint, route))) return;
            if (host.Routes.IsEmpty)
            {
                _ports.Remove(route.Port);
                stop = host.App;
            }
        }
        finally
        {
            _gate.Release();
        }
        if (stop is not null)
        {
            await stop.StopAsync().ConfigureAwait(false);
            await stop.DisposeAsync().ConfigureAwait(false);
            LogPortClosed(_log, route.Port);
        }
    }

    private async Task<WebApplication> StartAsync(PortHost host, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // The port's own host logs nothing (its lifetime chatter would repeat per port); we log opening and closing.
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // each route enforces its own maxPayloadSize
            k.Listen(IPAddress.Parse(address), host.Port, l =>
            {
                if (host.Certificate is not null) l.UseHttps(host.Certificate);
            });
        });
        var app = builder.Build();
        app.Run(ctx => Dispatch(host, ctx));
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"cannot listen on {address}:{host.Port}: {e.Message}", e);
        }
        LogPortOpened(_log, address, host.Port, host.Certificate is not null ? "https" : "http");
        return app;
    }

    /// <summary>
    /// Why events cannot be accepted on this replica now (its shared database unreachable), or null: requests to every
    /// endpoint get 503 with Retry-After meanwhile, so a sender retries on another replica or later.
    /// </summary>
    public Func<string?>? Unavailable { get; init; }

    private Task Dispatch(PortHost host, HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        if (host.Routes.TryGetValue(path, out var route))
        {
            if (Unavailable?.Invoke() is { } reason)
            {
                ctx.Response.Headers.RetryAfter = "5";
                return WebhookReplies.Reply(ctx, StatusCodes.Status503ServiceUnavailable, $"event not accepted: {reason}; retry later");
            }
            return route.Handler(ctx);
        }
        if (path == "/health" && HttpMethods.IsGet(ctx.Request.Method)) return WebhookReplies.Reply(ctx, StatusCodes.Status200OK, "OK");
        return WebhookReplies.Reply(ctx, StatusCodes.Status404NotFound, $"no endpoint {path} on port {host.Port}");
    }

    private static bool SameCertificate(X509Certificate2? a, X509Certificate2? b) =>
        a is null ? b is null : b is not null && a.Thumbprint == b.Thumbprint;

    public async ValueTask DisposeAsync()
    {
        List<WebApplication> apps;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            apps = _ports.Values.Select(p => p.App).OfType<WebApplication>().ToList();
            _ports.Clear();
        }
        finally
        {
            _gate.Release();
        }
        foreach (var app in apps)
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class Registration(WebhookServer server, WebhookRoute route) : IAsyncDisposable
    {
        private int _disposed;
        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) await server.UnregisterAsync(route).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "event listener port {Address}:{Port} open ({Scheme})")]
    private static partial void LogPortOpened(ILogger log, string address, int port, string scheme);

    [LoggerMessage(Level = LogLevel.Information, Message = "event listener port {Port} closed (no endpoints left)")]
    private static partial void LogPortClosed(ILogger log, int port);
}
