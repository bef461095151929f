using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Http;
using EventGateway.Events.Log;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.Http;

/// <summary>
/// The parts of a <c>WebhookContext</c> every webhook-style source shares: where it listens, the
/// method, the size limit, the Bearer token and TLS. Sources build their own data from the request.
/// </summary>
public sealed class WebhookEndpoint
{
    private WebhookEndpoint(int port, string endpoint, string method, long maxPayload, SecretKeySelector? auth, WebhookContext context)
    {
        Port = port;
        Path = endpoint;
        Method = method;
        MaxPayload = maxPayload;
        Auth = auth;
        Context = context;
    }

    public int Port { get; }
    public string Path { get; }
    public string Method { get; }
    public long MaxPayload { get; }
    public SecretKeySelector? Auth { get; }

    /// <summary>Whether <see cref="CheckAsync"/> authenticates the sender (an authSecret is set).</summary>
    public bool Authenticates => Auth is not null;
    public WebhookContext Context { get; }

    /// <summary>Reads the context (already validated at load) with Argo's defaults.</summary>
    public static WebhookEndpoint From(WebhookContext c, string defaultMethod = "POST")
    {
        var port = int.TryParse(c.Port, out var p) ? p : throw new InvalidOperationException($"port '{c.Port}' is not a number");
        var endpoint = string.IsNullOrEmpty(c.Endpoint) ? "/" : c.Endpoint.StartsWith('/') ? c.Endpoint : "/" + c.Endpoint;
        return new WebhookEndpoint(port, endpoint, (c.Method ?? defaultMethod).ToUpperInvariant(),
            c.MaxPayloadSize is > 0 ? c.MaxPayloadSize.Value : WebhookRequest.DefaultMaxPayload, c.AuthSecret, c);
    }

    public string Target(bool tls) => $"{(tls ? "https" : "http")}://:{Port}{Path}";

    /// <summary>The server certificate from <c>serverCertSecret</c>/<c>serverKeySecret</c> (PEM), or null for plain HTTP.</summary>
    public async Task<X509Certificate2?> LoadCertificateAsync(ListenerContext ctx, CancellationToken ct)
    {
        if (Context.ServerCertSecret is null || Context.ServerKeySecret is null) return null;
        var cert = await ctx.Secrets.RequireAsync(ctx.Namespace, Context.ServerCertSecret, "serverCertSecret", ct).ConfigureAwait(false);
        var key = await ctx.Secrets.RequireAsync(ctx.Namespace, Context.ServerKeySecret, "serverKeySecret", ct).ConfigureAwait(false);
        try
        {
            using var pem = X509Certificate2.CreateFromPem(cert, key);
            // Kestrel on Linux needs the key in an exportable, persisted form: round-trip through PKCS#12.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException($"serverCertSecret/serverKeySecret: not a PEM certificate and key: {e.Message}", e);
        }
    }

    /// <summary>Refuses a request with the wrong method (405) or without the configured Bearer token (401).</summary>
    public async ValueTask CheckAsync(HttpContext http, ListenerContext ctx)
    {
        if (!string.Equals(http.Request.Method, Method, StringComparison.OrdinalIgnoreCase))
        {
            http.Response.Headers.Allow = Method;
            throw new WebhookRefusal(StatusCodes.Status405MethodNotAllowed, $"method {http.Request.Method} is not allowed on {Path}; use {Method}");
        }
        if (Auth is null) return;
        var token = await ctx.Secrets.ReadAsync(ctx.Namespace, Auth, http.RequestAborted).ConfigureAwait(false)
            ?? throw new WebhookRefusal(StatusCodes.Status503ServiceUnavailable, $"authSecret {ctx.Namespace}/{Auth.Name} key '{Auth.Key}' is missing; refusing until it exists");
        var given = http.Request.Headers.Authorization.ToString();
        if (given.Length == 0) throw new WebhookRefusal(StatusCodes.Status401Unauthorized, "missing Authorization: Bearer token");
        if (!given.StartsWith("Bearer ", StringComparison.Ordinal) || !FixedTimeEquals(given.AsSpan(7).Trim(), token.Trim()))
            throw new WebhookRefusal(StatusCodes.Status401Unauthorized, "bad Bearer token");
    }

    /// <summary>Compares digests so neither the content nor the length of the secret leaks through timing.</summary>
    public static bool FixedTimeEquals(ReadOnlySpan<char> given, ReadOnlySpan<char> expected)
    {
        Span<byte> a = stackalloc byte[32], b = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(given.ToArray()), a);
        SHA256.HashData(Encoding.UTF8.GetBytes(expected.ToArray()), b);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    /// <summary>Runs a handler, turning refusals and a full log into their answers; counts each for the status.</summary>
    public static async Task Guard(HttpContext http, ListenerContext ctx, Func<Task> handle)
    {
        try
        {
            await handle().ConfigureAwait(false);
        }
        catch (WebhookRefusal r)
        {
            ctx.Status.Reject($"{r.Status}");
            if (r.Status == StatusCodes.Status503ServiceUnavailable) http.Response.Headers.RetryAfter = "5";
            await WebhookReplies.Reply(http, r.Status, r.Reason).ConfigureAwait(false);
        }
        catch (EventLogUnavailableException e)
        {
            ctx.Status.Reject("503");
            await WebhookReplies.Unavailable(http, e).ConfigureAwait(false);
        }
    }
}
