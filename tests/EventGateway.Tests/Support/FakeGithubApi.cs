using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EventGateway.Tests.Support;

/// <summary>
/// The GitHub REST hooks endpoints (list, create, update, delete for repositories and organizations)
/// on a real Kestrel server on 127.0.0.1, keeping hooks in memory and recording every request.
/// Lists page by <c>per_page</c>/<c>page</c> with a Link header, as GitHub does.
/// </summary>
public sealed class FakeGithubApi : IAsyncDisposable
{
    public sealed record Request(string Method, string Path, string Query, string? Authorization, JsonObject? Body);

    public sealed class Hook
    {
        public long Id { get; init; }
        public bool Active { get; set; }
        public List<string> Events { get; set; } = [];
        public string Url { get; set; } = "";
        public string ContentType { get; set; } = "form";
        public string InsecureSsl { get; set; } = "0";
        public string? Secret { get; set; }
    }

    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<Request> _requests = [];
    private readonly Dictionary<string, List<Hook>> _hooks = new(StringComparer.Ordinal);
    private long _nextId = 1000;

    private FakeGithubApi(WebApplication app) => _app = app;

    /// <summary>Base URL with the trailing slash, for <c>githubBaseURL</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The only token accepted; others get 401 "Bad credentials".</summary>
    public string Token { get; set; } = "gh-token";

    /// <summary>Scopes (e.g. <c>repos/acme/missing</c>) answered with 404 "Not Found", as for a repository the token cannot see.</summary>
    public HashSet<string> Missing { get; } = new(StringComparer.Ordinal);

    public static async Task<FakeGithubApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var fake = new FakeGithubApi(app);
        app.MapGet("/{kind}/{owner}/{repo}/hooks", (HttpContext c, string kind, string owner, string repo) => fake.List(c, $"{kind}/{owner}/{repo}"));
        app.MapGet("/{kind}/{org}/hooks", (HttpContext c, string kind, string org) => fake.List(c, $"{kind}/{org}"));
        app.MapPost("/{kind}/{owner}/{repo}/hooks", (HttpContext c, string kind, string owner, string repo) => fake.Create(c, $"{kind}/{owner}/{repo}"));
        app.MapPost("/{kind}/{org}/hooks", (HttpContext c, string kind, string org) => fake.Create(c, $"{kind}/{org}"));
        app.MapPatch("/{kind}/{owner}/{repo}/hooks/{id:long}", (HttpContext c, string kind, string owner, string repo, long id) => fake.Update(c, $"{kind}/{owner}/{repo}", id));
        app.MapPatch("/{kind}/{org}/hooks/{id:long}", (HttpContext c, string kind, string org, long id) => fake.Update(c, $"{kind}/{org}", id));
        app.MapDelete("/{kind}/{owner}/{repo}/hooks/{id:long}", (HttpContext c, string kind, string owner, string repo, long id) => fake.Delete(c, $"{kind}/{owner}/{repo}", id));
        app.MapDelete("/{kind}/{org}/hooks/{id:long}", (HttpContext c, string kind, string org, long id) => fake.Delete(c, $"{kind}/{org}", id));
        app.MapPost("/app/installations/{id:long}/access_tokens", (HttpContext c, long id) => fake.InstallationToken(c, id));
        await app.StartAsync();
        fake.BaseUrl = app.Urls.First().TrimEnd('/') + "/";
        return fake;
    }

    public IReadOnlyList<Request> Requests
    {
        get { lock (_gate) return _requests.ToList(); }
    }

    /// <summary>Requests other than listing, e.g. <c>POST repos/acme/api/hooks</c>.</summary>
    public IReadOnlyList<string> Changes => Requests.Where(r => r.Method != "GET").Select(r => $"{r.Method} {r.Path}").ToList();

    public IReadOnlyList<Hook> Hooks(string scope)
    {
        lock (_gate) return _hooks.TryGetValue(scope, out var l) ? l.ToList() : [];
    }

    private readonly List<string> _installationTokens = [];
    private (long AppId, long InstallationId, System.Security.Cryptography.RSA Key)? _githubApp;

    /// <summary>Installation tokens issued so far (each is accepted like <see cref="Token"/>).</summary>
    public IReadOnlyList<string> InstallationTokens
    {
        get { lock (_gate) return _installationTokens.ToList(); }
    }

    /// <summary>Registers a GitHub App installation; returns the App's private key as GitHub hands it out (PKCS#1 PEM).</summary>
    public string InstallApp(long appId, long installationId)
    {
        var key = System.Security.Cryptography.RSA.Create(2048);
        lock (_gate) _githubApp = (appId, installationId, key);
        return key.ExportRSAPrivateKeyPem();
    }

    /// <summary>
    /// POST /app/installations/{id}/access_tokens: checks the App JWT as GitHub does (RS256 signature by the App's
    /// key, iss = App id, unexpired, at most 10 minutes long) and issues a token that the hook endpoints accept.
    /// </summary>
    private async Task<IResult> InstallationToken(HttpContext c, long id)
    {
        var auth = c.Request.Headers.Authorization.ToString();
        lock (_gate) _requests.Add(new Request(c.Request.Method, c.Request.Path.Value!.TrimStart('/'), "", auth, null));
        if (_githubApp is not { } app || app.InstallationId != id) return Results.Json(new { message = "Not Found" }, statusCode: 404);
        var jwt = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth["Bearer ".Length..] : "";
        var result = await new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().ValidateTokenAsync(jwt, new Microsoft.IdentityModel.Tokens.TokenValidationParameters
        {
            ValidIssuer = app.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ValidateAudience = false,
            IssuerSigningKey = new Microsoft.IdentityModel.Tokens.RsaSecurityKey(app.Key.ExportParameters(false)),
            ValidAlgorithms = ["RS256"],
        });
        if (!result.IsValid || result.SecurityToken is not Microsoft.IdentityModel.JsonWebTokens.JsonWebToken t || t.ValidTo - t.IssuedAt > TimeSpan.FromMinutes(11))
            return Results.Json(new { message = "A JSON web token could not be decoded" }, statusCode: 401);
        string token;
        lock (_gate) _installationTokens.Add(token = $"ghs_{_installationTokens.Count + 1}");
        return Results.Json(new { token, expires_at = DateTimeOffset.UtcNow.AddHours(1) }, statusCode: 201);
    }

    /// <summary>Puts a hook in place as if someone had created it earlier.</summary>
    public Hook Seed(string scope, string url, params string[] events)
    {
        lock (_gate)
        {
            var hook = new Hook { Id = ++_nextId, Active = true, Events = [.. events], Url = url, ContentType = "json" };
            Scope(scope).Add(hook);
            return hook;
        }
    }

    public void ClearRequests()
    {
        lock (_gate) _requests.Clear();
    }

    private List<Hook> Scope(string scope) => _hooks.TryGetValue(scope, out var l) ? l : _hooks[scope] = [];

    /// <summary>Records the request; returns the refusal, if any, and the JSON body.</summary>
    private async Task<(IResult? Refused, JsonObject? Body)> Admit(HttpContext c, string scope)
    {
        JsonObject? body = null;
        if (c.Request.ContentLength > 0 || c.Request.Headers.TransferEncoding.Count > 0)
            body = (await JsonNode.ParseAsync(c.Request.Body)) as JsonObject;
        var auth = c.Request.Headers.Authorization.ToString();
        lock (_gate) _requests.Add(new Request(c.Request.Method, c.Request.Path.Value!.TrimStart('/'), c.Request.QueryString.Value ?? "", auth, body));
        bool installed;
        lock (_gate) installed = _installationTokens.Any(t => auth == $"Bearer {t}");
        if (auth != $"Bearer {Token}" && auth != $"token {Token}" && !installed) // GitHub takes both schemes
            return (Results.Json(new { message = "Bad credentials", documentation_url = "https://docs.github.com/rest" }, statusCode: 401), body);
        if (!c.Request.Headers.Accept.ToString().Contains("application/vnd.github", StringComparison.Ordinal) || c.Request.Headers.UserAgent.Count == 0)
            return (Results.Json(new { message = "Accept application/vnd.github+json and a User-Agent are required" }, statusCode: 400), body);
        lock (_gate)
            if (Missing.Contains(scope)) return (Results.Json(new { message = "Not Found" }, statusCode: 404), body);
        return (null, body);
    }

    private async Task<IResult> List(HttpContext c, string scope)
    {
        if ((await Admit(c, scope)).Refused is { } refused) return refused;
        var perPage = int.TryParse(c.Request.Query["per_page"], out var pp) ? Math.Clamp(pp, 1, 100) : 30;
        var page = int.TryParse(c.Request.Query["page"], out var p) ? Math.Max(1, p) : 1;
        List<Hook> all;
        lock (_gate) all = Scope(scope).ToList();
        if (page * perPage < all.Count)
            c.Response.Headers.Link = $"<{BaseUrl}{scope}/hooks?per_page={perPage}&page={page + 1}>; rel=\"next\"";
        return Results.Content(new JsonArray(all.Skip((page - 1) * perPage).Take(perPage).Select(h => (JsonNode)ToJson(h)).ToArray()).ToJsonString(), "application/json");
    }

    private async Task<IResult> Create(HttpContext c, string scope)
    {
        var (refused, body) = await Admit(c, scope);
        if (refused is not null) return refused;
        if (body is null) return Results.Json(new { message = "Problems parsing JSON" }, statusCode: 400);
        Hook hook;
        lock (_gate)
        {
            hook = new Hook { Id = ++_nextId };
            Apply(hook, body);
            Scope(scope).Add(hook);
        }
        return Results.Content(ToJson(hook).ToJsonString(), "application/json", statusCode: 201);
    }

    private async Task<IResult> Update(HttpContext c, string scope, long id)
    {
        var (refused, body) = await Admit(c, scope);
        if (refused is not null) return refused;
        if (body is null) return Results.Json(new { message = "Problems parsing JSON" }, statusCode: 400);
        lock (_gate)
        {
            if (Scope(scope).FirstOrDefault(h => h.Id == id) is not { } hook) return Results.Json(new { message = "Not Found" }, statusCode: 404);
            Apply(hook, body);
            return Results.Content(ToJson(hook).ToJsonString(), "application/json");
        }
    }

    private async Task<IResult> Delete(HttpContext c, string scope, long id)
    {
        if ((await Admit(c, scope)).Refused is { } refused) return refused;
        lock (_gate)
            return Scope(scope).RemoveAll(h => h.Id == id) > 0 ? Results.NoContent() : Results.Json(new { message = "Not Found" }, statusCode: 404);
    }

    private static void Apply(Hook hook, JsonObject body)
    {
        if (body["active"] is JsonValue a) hook.Active = a.GetValue<bool>();
        if (body["events"] is JsonArray e) hook.Events = e.Select(x => x!.GetValue<string>()).ToList();
        if (body["config"] is JsonObject config)
        {
            hook.Url = config["url"]?.GetValue<string>() ?? hook.Url;
            hook.ContentType = config["content_type"]?.GetValue<string>() ?? "form";
            hook.InsecureSsl = config["insecure_ssl"]?.GetValue<string>() ?? "0";
            hook.Secret = config["secret"]?.GetValue<string>();
        }
    }

    private static JsonObject ToJson(Hook h)
    {
        var config = new JsonObject { ["url"] = h.Url, ["content_type"] = h.ContentType, ["insecure_ssl"] = h.InsecureSsl };
        if (h.Secret is not null) config["secret"] = "********";
        return new JsonObject
        {
            ["type"] = "Repository",
            ["id"] = h.Id,
            ["name"] = "web",
            ["active"] = h.Active,
            ["events"] = new JsonArray(h.Events.Select(e => (JsonNode?)e).ToArray()),
            ["config"] = config,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
