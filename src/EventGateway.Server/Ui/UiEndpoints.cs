using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using EventGateway.Server.Security;

namespace EventGateway.Server.Ui;

/// <summary>
/// The web UI's routes: the login page (the only page without a session, and it shows no data), POST /login and
/// /logout, the session's CSRF secret for the page scripts, and the app shell with its assets, each behind a session.
/// Everything the pages show comes from the REST API through <see cref="ApiGuard"/>, which accepts the session cookie.
/// </summary>
public static class UiEndpoints
{
    /// <summary>No inline script or style anywhere, nothing from another origin, never framed.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static IEndpointRouteBuilder MapEventGatewayUi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/login", (HttpContext http, ApiSecurityOptions options) =>
            options.AuthMode == AuthMode.None ? Redirect(http, "/") : LoginPage(http, null, StatusCodes.Status200OK));
        app.MapGet("/login.css", (HttpContext http) => Asset(http, "login.css"));
        app.MapPost("/login", LoginAsync);
        app.MapPost("/logout", (HttpContext http, UiSessions sessions) =>
        {
            if (sessions.Find(http.Request) is { } s && !s.CsrfMatches(http.Request.Headers[UiSessions.CsrfHeader]))
                return Problem(http, StatusCodes.Status403Forbidden, $"logout needs the session's {UiSessions.CsrfHeader} header");
            sessions.Remove(http.Request);
            http.Response.Cookies.Delete(UiSessions.Cookie, UiSessions.CookieOptions(http.Request, null));
            return Redirect(http, "/login");
        });
        app.MapGet("/ui/session", SessionAsync);
        app.MapGet("/", async (HttpContext http, ApiSecurityOptions options, UiSessions sessions, IServiceProvider services) =>
            await AdmittedAsync(http, options, sessions, services) ? Asset(http, "index.html") : Redirect(http, "/login"));
        app.MapGet("/assets/{**path}", async (string path, HttpContext http, ApiSecurityOptions options, UiSessions sessions, IServiceProvider services) =>
            !await AdmittedAsync(http, options, sessions, services) ? Problem(http, StatusCodes.Status401Unauthorized, "log in at /login first")
            : path is "index.html" or "login.css" || !UiAssets.All.ContainsKey(path) ? Problem(http, StatusCodes.Status404NotFound, $"no UI asset '{path}'")
            : Asset(http, path));
        return app;
    }

    /// <summary>The pasted token is checked like a bearer token; a good one becomes a session, a bad one the login page again with 401.</summary>
    private static async Task<IResult> LoginAsync(HttpContext http, ApiSecurityOptions options, UiSessions sessions, ApiGuard guard, IServiceProvider services)
    {
        var req = http.Request;
        if (guard.CrossSiteRefusal(req) is { } refusal) return Problem(http, StatusCodes.Status403Forbidden, refusal);
        if (options.AuthMode == AuthMode.None) return Redirect(http, "/");
        if (!req.HasFormContentType) return LoginPage(http, "send the token from the login form", StatusCodes.Status415UnsupportedMediaType);
        var form = await req.ReadFormAsync(http.RequestAborted);
        var token = form["token"].ToString().Trim();
        if (token.Length == 0) return LoginPage(http, "paste the token first", StatusCodes.Status400BadRequest);
        if (await services.GetRequiredService<ApiTokens>().AuthenticateAsync(token, http.RequestAborted) is null)
            return LoginPage(http, "invalid or revoked token: paste the admin token egw serve printed (or admin.token in its data directory)", StatusCodes.Status401Unauthorized);
        http.Response.Cookies.Append(UiSessions.Cookie, sessions.Create(token), UiSessions.CookieOptions(req, UiSessions.Lifetime));
        return Redirect(http, "/");
    }

    /// <summary>What the page scripts need: the CSRF secret to send back, and who is logged in (for the header).</summary>
    private static async Task<IResult> SessionAsync(HttpContext http, ApiSecurityOptions options, UiSessions sessions, IServiceProvider services)
    {
        Secure(http.Response);
        if (options.AuthMode == AuthMode.None)
            return Json(new JsonObject { ["csrf"] = "", ["user"] = ApiGrant.Anonymous.Name, ["role"] = "admin", ["authMode"] = "none" });
        if (sessions.Find(http.Request) is not { } s
            || await services.GetRequiredService<ApiTokens>().AuthenticateAsync(s.Token, http.RequestAborted) is not { } grant)
            return Problem(http, StatusCodes.Status401Unauthorized, "no session: log in at /login");
        return Json(new JsonObject
        {
            ["csrf"] = s.Csrf, ["user"] = grant.Name, ["role"] = ApiGrant.RoleName(grant.Role),
            ["namespaces"] = new JsonArray([.. grant.Namespaces.Select(n => (JsonNode)n)]), ["authMode"] = "token",
        });
    }

    /// <summary>A live session whose token still authenticates; a revoked token's session is dropped here.</summary>
    private static async Task<bool> AdmittedAsync(HttpContext http, ApiSecurityOptions options, UiSessions sessions, IServiceProvider services)
    {
        if (options.AuthMode == AuthMode.None) return true;
        if (sessions.Find(http.Request) is not { } s) return false;
        if (await services.GetRequiredService<ApiTokens>().AuthenticateAsync(s.Token, http.RequestAborted) is not null) return true;
        sessions.Remove(http.Request);
        return false;
    }

    private static IResult LoginPage(HttpContext http, string? error, int status)
    {
        var page = Encoding.UTF8.GetString(UiAssets.All["login.html"].Content)
            .Replace("<!--error-->", error is null ? "" : $"<p class=\"error\" role=\"alert\">{WebUtility.HtmlEncode(error)}</p>", StringComparison.Ordinal);
        Secure(http.Response);
        http.Response.Headers.CacheControl = "no-store";
        return Results.Text(page, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    private static IResult Asset(HttpContext http, string path)
    {
        var asset = UiAssets.All[path];
        Secure(http.Response);
        // Behind a session: the browser may keep a copy for itself, never a shared cache; the ETag makes a reload cheap.
        http.Response.Headers.CacheControl = path.EndsWith(".html", StringComparison.Ordinal) ? "no-store" : "private, no-cache";
        http.Response.Headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch == asset.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Content, asset.ContentType);
    }

    /// <summary>Headers every UI response carries, refusals included.</summary>
    private static void Secure(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        // Not no-referrer: under it Chromium sends "Origin: null" on our own form posts and fetches, which ApiGuard refuses.
        response.Headers["Referrer-Policy"] = "same-origin";
        response.Headers["Cross-Origin-Opener-Policy"] = "same-origin";
    }

    private static IResult Redirect(HttpContext http, string to)
    {
        Secure(http.Response);
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Location = to;
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    private static IResult Problem(HttpContext http, int status, string message)
    {
        Secure(http.Response);
        return Results.Json(new { code = status == 401 ? 16 : status == 403 ? 7 : status == 404 ? 5 : 3, message }, statusCode: status);
    }

    private static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(), "application/json", Encoding.UTF8);
}
