using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using EventGateway.Server.Api;
using EventGateway.Server.Ui;

namespace EventGateway.Server.Security;

/// <summary>The caller a request was admitted as; handlers that authorize their body (apply) read it from the features.</summary>
public sealed record ApiCaller(ApiGrant Grant);

/// <summary>
/// Admits each API request, in this order: the Host is ours (DNS rebinding), the Origin is ours (cross-site), the bearer
/// token (or the web UI's session cookie, with its CSRF header for changes) is valid (401), the token's grant covers the endpoint (403, <see cref="ApiAccessPolicy"/>), and a state-changing
/// body is JSON or YAML (415: an HTML form or a "simple" cross-site fetch can only send text/plain or form types).
/// Runs before the handler reads anything, so a refused request changes nothing.
/// </summary>
public sealed partial class ApiGuard(ApiSecurityOptions options, IServiceProvider services, ILogger<ApiGuard> logger) : IEndpointFilter
{
    private static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "::1"];
    private static readonly string[] BodyTypes = ["application/json", "application/yaml", "application/x-yaml", "text/yaml"];

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (await RefuseAsync(http) is { } refusal) return refusal;
        return await next(context);
    }

    private async ValueTask<IResult?> RefuseAsync(HttpContext http)
    {
        var req = http.Request;
        if (CrossSiteRefusal(req) is { } crossSite) return Refused(http, ApiErrors.Forbidden(crossSite));

        ApiGrant grant;
        if (options.AuthMode == AuthMode.None) grant = ApiGrant.Anonymous;
        else
        {
            // The web UI's session cookie stands for the token its browser logged in with (Ui/UiSessions); a cookie
            // travels by itself, so a state-changing request must also prove it came from our page (the CSRF header).
            if (!TryBearer(req, out var token))
            {
                if (services.GetRequiredService<UiSessions>().Find(req) is not { } session)
                    return Unauthenticated(http, "missing bearer token: send 'Authorization: Bearer <token>' (egw --token, or EGW_TOKEN)");
                if (ChangesState(req.Method) && !session.CsrfMatches(req.Headers[UiSessions.CsrfHeader]))
                    return Refused(http, ApiErrors.Forbidden($"{req.Method} with the UI's session cookie needs the session's {UiSessions.CsrfHeader} header"));
                token = session.Token;
            }
            if (await services.GetRequiredService<ApiTokens>().AuthenticateAsync(token, http.RequestAborted) is not { } found)
                return Unauthenticated(http, "invalid or revoked token");
            grant = found;
        }

        var pattern = ApiAccessPolicy.Pattern(http.GetEndpoint());
        if (!ApiAccessPolicy.Rules.TryGetValue(ApiAccessPolicy.Key(req.Method, pattern), out var rule))
            return Refused(http, ApiErrors.Forbidden($"{req.Method} {pattern} has no access rule; refused"));
        if (ApiAccessPolicy.Refuse(grant, rule, req) is { } reason)
            return Refused(http, ApiErrors.Forbidden(reason));

        if (ChangesState(req.Method) && HasBody(req) && !IsBodyType(req.ContentType))
            return Refused(http, ApiErrors.UnsupportedMediaType(
                $"Content-Type '{req.ContentType}' is not accepted for {req.Method}; send {string.Join(", ", BodyTypes)}"));

        http.Features.Set(new ApiCaller(grant));
        return null;
    }

    /// <summary>Why a request from a browser is not ours (DNS rebinding, another site's Origin), or null; the UI's login uses it too.</summary>
    public string? CrossSiteRefusal(HttpRequest req)
    {
        if (options.ChecksHost && !HostAllowed(req.Host.Host))
            return $"Host '{req.Host}' is not this server's name; the API on loopback answers only localhost, 127.0.0.1, [::1]{Named()} (egw serve --api-host NAME)";
        if (req.Headers.Origin is { Count: > 0 } origin && !SameOrigin(origin, req))
            return $"Origin '{origin}' is not this server ({req.Scheme}://{req.Host}); cross-site requests are refused";
        return null;
    }

    private bool HostAllowed(string host)
    {
        var h = host.Trim('[', ']');
        return LoopbackHosts.Contains(h, StringComparer.OrdinalIgnoreCase) || options.ApiHosts.Contains(h, StringComparer.OrdinalIgnoreCase);
    }

    private string Named() => options.ApiHosts.Count == 0 ? "" : ", " + string.Join(", ", options.ApiHosts);

    /// <summary>The API's own origin is the scheme and Host it was reached by (the Host itself is checked above on loopback).</summary>
    private static bool SameOrigin(StringValues origin, HttpRequest req) =>
        origin.Count == 1 && string.Equals(origin[0], $"{req.Scheme}://{req.Host.Value}", StringComparison.OrdinalIgnoreCase);

    /// <summary>The Authorization header; the UI's cookie is the only other way in, and only with its CSRF header for changes.</summary>
    private static bool TryBearer(HttpRequest req, out string token)
    {
        token = "";
        if (req.Headers.Authorization is not { Count: 1 } values || values[0] is not { } header) return false;
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        token = header["Bearer ".Length..].Trim();
        return token.Length > 0;
    }

    private static bool ChangesState(string method) =>
        HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method) || HttpMethods.IsPatch(method);

    private static bool HasBody(HttpRequest req) => req.ContentLength > 0 || (req.ContentLength is null && req.Headers.TransferEncoding.Count > 0);

    private static bool IsBodyType(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var m) && m.MediaType is { } t && BodyTypes.Contains(t, StringComparer.OrdinalIgnoreCase);

    private IResult Unauthenticated(HttpContext http, string message)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Refused(http, ApiErrors.Unauthenticated(message));
    }

    private IResult Refused(HttpContext http, IResult result)
    {
        LogRefused(logger, http.Request.Method, http.Request.Path, http.Connection.RemoteIpAddress?.ToString() ?? "?", (result as IStatusCodeHttpResult)?.StatusCode ?? 0);
        return result;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "API request refused: {Method} {Path} from {Remote}: {Status}")]
    private static partial void LogRefused(ILogger logger, string method, string path, string remote, int status);
}
