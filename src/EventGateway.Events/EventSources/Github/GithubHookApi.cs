using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventGateway.Events.EventSources.Github;

/// <summary>Where hooks live: a repository (<c>repos/{owner}/{name}</c>) or an organization (<c>orgs/{org}</c>).</summary>
public sealed record GithubHookScope(string Path, string Display)
{
    public static GithubHookScope Repository(string owner, string name) =>
        new($"repos/{Uri.EscapeDataString(owner)}/{Uri.EscapeDataString(name)}", $"repository {owner}/{name}");

    public static GithubHookScope Organization(string org) => new($"orgs/{Uri.EscapeDataString(org)}", $"organization {org}");
}

/// <summary>A hook as the API lists it. The API never returns the secret, only whether one is set.</summary>
public sealed record GithubHook(long Id, string? Url, bool Active, IReadOnlyList<string> Events, string? ContentType, string? InsecureSsl, bool HasSecret);

/// <summary>What a hook should look like.</summary>
public sealed record GithubHookSettings(string Url, IReadOnlyList<string> Events, bool Active, string ContentType, bool Insecure, string? Secret);

/// <summary>A refusal from the GitHub API, with its status and message.</summary>
public sealed class GithubApiException(HttpStatusCode status, string message, TimeSpan? retryAfter = null) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The handful of GitHub REST calls hook registration needs (list, create, update, delete), over a
/// caller-owned HttpClient with a bounded timeout. Small on purpose: Octokit is not served here, and
/// the interface it would replace is just these four calls.
/// </summary>
public sealed class GithubHookApi(HttpClient http, string token)
{
    private const int PerPage = 100;
    private const int MaxPages = 20;

    public async Task<IReadOnlyList<GithubHook>> ListAsync(GithubHookScope scope, CancellationToken ct)
    {
        var hooks = new List<GithubHook>();
        var url = $"{scope.Path}/hooks?per_page={PerPage}";
        for (var page = 0; url is not null; page++)
        {
            if (page == MaxPages)
                throw new GithubApiException(HttpStatusCode.InsufficientStorage, $"listing hooks of {scope.Display}: more than {MaxPages * PerPage} hooks; refusing to page further");
            using var response = await SendAsync(HttpMethod.Get, url, null, $"listing hooks of {scope.Display}", ct).ConfigureAwait(false);
            var array = await ReadJsonAsync(response, ct).ConfigureAwait(false) as JsonArray
                ?? throw new GithubApiException(response.StatusCode, $"listing hooks of {scope.Display}: the answer is not a JSON array");
            hooks.AddRange(array.OfType<JsonObject>().Select(Parse));
            url = NextPage(response, http.BaseAddress);
        }
        return hooks;
    }

    public async Task<GithubHook> CreateAsync(GithubHookScope scope, GithubHookSettings settings, CancellationToken ct)
    {
        var body = Body(settings);
        body["name"] = "web";
        using var response = await SendAsync(HttpMethod.Post, $"{scope.Path}/hooks", body, $"creating a hook on {scope.Display}", ct).ConfigureAwait(false);
        return await ReadJsonAsync(response, ct).ConfigureAwait(false) is JsonObject o ? Parse(o)
            : throw new GithubApiException(response.StatusCode, $"creating a hook on {scope.Display}: the answer is not a hook");
    }

    public async Task UpdateAsync(GithubHookScope scope, long id, GithubHookSettings settings, CancellationToken ct)
    {
        using var _ = await SendAsync(HttpMethod.Patch, $"{scope.Path}/hooks/{id}", Body(settings), $"updating hook {id} of {scope.Display}", ct).ConfigureAwait(false);
    }

    /// <summary>Deletes the hook; one already gone counts as deleted.</summary>
    public async Task DeleteAsync(GithubHookScope scope, long id, CancellationToken ct)
    {
        try
        {
            using var _ = await SendAsync(HttpMethod.Delete, $"{scope.Path}/hooks/{id}", null, $"deleting hook {id} of {scope.Display}", ct).ConfigureAwait(false);
        }
        catch (GithubApiException e) when (e.Status == HttpStatusCode.NotFound) { }
    }

    private static JsonObject Body(GithubHookSettings s)
    {
        var config = new JsonObject
        {
            ["url"] = s.Url,
            ["content_type"] = s.ContentType,
            ["insecure_ssl"] = s.Insecure ? "1" : "0",
        };
        if (s.Secret is not null) config["secret"] = s.Secret;
        return new JsonObject
        {
            ["active"] = s.Active,
            ["events"] = new JsonArray(s.Events.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray()),
            ["config"] = config,
        };
    }

    private static GithubHook Parse(JsonObject o)
    {
        var config = o["config"] as JsonObject;
        static string? Text(JsonNode? n) => n is JsonValue v ? v.ToString() : null;
        var secret = Text(config?["secret"]);
        return new GithubHook(
            o["id"] is JsonValue id && id.TryGetValue<long>(out var l) ? l : 0,
            Text(config?["url"]),
            o["active"] is JsonValue a && a.TryGetValue<bool>(out var b) && b,
            (o["events"] as JsonArray)?.Select(Text).OfType<string>().ToList() ?? [],
            Text(config?["content_type"]),
            Text(config?["insecure_ssl"]),
            !string.IsNullOrEmpty(secret));
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, JsonObject? body, string what, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("application/vnd.github+json");
        request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
        request.Headers.UserAgent.ParseAdd("egw-eventgateway");
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new GithubApiException(HttpStatusCode.RequestTimeout, $"{what}: no answer from {http.BaseAddress} within {http.Timeout.TotalSeconds:0}s ({e.Message})");
        }
        catch (HttpRequestException e)
        {
            throw new GithubApiException(HttpStatusCode.ServiceUnavailable, $"{what}: cannot reach {http.BaseAddress}: {e.Message}");
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            var message = await ErrorMessageAsync(response, ct).ConfigureAwait(false);
            throw new GithubApiException(response.StatusCode, $"{what}: GitHub answered {(int)response.StatusCode} {message}", RetryAfter(response));
        }
    }

    private static async Task<JsonNode?> ReadJsonAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            return await JsonNode.ParseAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new GithubApiException(response.StatusCode, $"GitHub answered with something that is not JSON: {e.Message}");
        }
    }

    /// <summary>GitHub's error body is <c>{"message": ..., "errors": [...]}</c>; fall back to the reason phrase.</summary>
    private static async Task<string> ErrorMessageAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        try
        {
            if (JsonNode.Parse(text) is JsonObject o && o["message"] is JsonValue m)
            {
                var details = (o["errors"] as JsonArray)?.Select(e => e is JsonObject eo && eo["message"] is JsonValue em ? em.ToString() : e?.ToJsonString()).OfType<string>().ToList();
                return details is { Count: > 0 } ? $"{m}: {string.Join("; ", details)}" : m.ToString();
            }
        }
        catch (JsonException) { }
        var line = text.Split('\n')[0].Trim();
        return line.Length is > 0 and <= 200 ? line : response.ReasonPhrase ?? "";
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter?.Delta is { } delta) return delta;
        if (response.Headers.TryGetValues("x-ratelimit-reset", out var reset) && long.TryParse(reset.FirstOrDefault(), out var epoch)
            && response.Headers.TryGetValues("x-ratelimit-remaining", out var remaining) && remaining.FirstOrDefault() == "0"
            && response.Headers.Date is { } now)
            return DateTimeOffset.FromUnixTimeSeconds(epoch) - now;
        return null;
    }

    /// <summary>The <c>rel="next"</c> target of the Link header, as GitHub paginates.</summary>
    /// <remarks>A link to another host is refused: following it would send the token there.</remarks>
    private static string? NextPage(HttpResponseMessage response, Uri? baseAddress)
    {
        if (!response.Headers.TryGetValues("Link", out var links)) return null;
        foreach (var part in string.Join(",", links).Split(','))
        {
            var pieces = part.Split(';');
            if (pieces.Length < 2 || !pieces.Skip(1).Any(p => p.Trim() is "rel=\"next\"" or "rel=next")) continue;
            var target = pieces[0].Trim().TrimStart('<').TrimEnd('>');
            if (!Uri.TryCreate(baseAddress, target, out var next) || baseAddress is null
                || Uri.Compare(next, baseAddress, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) != 0)
                throw new GithubApiException(HttpStatusCode.BadGateway, $"GitHub's next-page link '{target}' leaves {baseAddress}; refusing to follow it");
            return next.AbsoluteUri;
        }
        return null;
    }
}
