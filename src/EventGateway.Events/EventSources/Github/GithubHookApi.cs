using System.Net;
using Octokit;
using Octokit.Internal;

namespace EventGateway.Events.EventSources.Github;

/// <summary>Where hooks live: a repository or an organization. <see cref="Path"/> is the REST path, also the key the registrar remembers a hook by.</summary>
public sealed record GithubHookScope(string Path, string Display, string? Owner, string? Name, string? Org)
{
    public static GithubHookScope Repository(string owner, string name) =>
        new($"repos/{Uri.EscapeDataString(owner)}/{Uri.EscapeDataString(name)}", $"repository {owner}/{name}", owner, name, null);

    public static GithubHookScope Organization(string org) => new($"orgs/{Uri.EscapeDataString(org)}", $"organization {org}", null, null, org);
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
/// The calls hook registration needs (list, create, update and delete a hook; an App installation's token), through Octokit, in the registrar's terms: its
/// hooks as <see cref="GithubHook"/>, every failure as a <see cref="GithubApiException"/> that says what was being done.
/// </summary>
public sealed class GithubHookApi(IGitHubClient client)
{
    /// <summary>GitHub allows 20 hooks per event and scope; 20 pages of 100 is far beyond any real list.</summary>
    private static readonly ApiOptions Paging = new() { PageSize = 100, PageCount = 20 };

    /// <summary>
    /// A client for <paramref name="baseUrl"/> with a bearer token. The URL is used as given, as Argo does with
    /// githubBaseURL (an Enterprise user writes https://HOST/api/v3/): GitHubClient's own Uri constructor would replace
    /// any path with /api/v3/, so the connection is made first.
    /// </summary>
    public static GitHubClient Connect(Uri baseUrl, string token, TimeSpan timeout)
    {
        var client = new GitHubClient(new Connection(new ProductHeaderValue("egw-eventgateway"), baseUrl, new InMemoryCredentialStore(new Credentials(token, AuthenticationType.Bearer))));
        client.SetRequestTimeout(timeout);
        return client;
    }

    public Task<IReadOnlyList<GithubHook>> ListAsync(GithubHookScope scope, CancellationToken ct) =>
        CallAsync($"listing hooks of {scope.Display}", ct, async () => scope.Org is { } org
            ? (await client.Organization.Hook.GetAll(org, Paging).ConfigureAwait(false)).Select(h => Parse(h.Id, h.Active, h.Events, h.Config)).ToList()
            : (IReadOnlyList<GithubHook>)(await client.Repository.Hooks.GetAll(scope.Owner!, scope.Name!, Paging).ConfigureAwait(false)).Select(h => Parse(h.Id, h.Active, h.Events, h.Config)).ToList());

    public Task<GithubHook> CreateAsync(GithubHookScope scope, GithubHookSettings settings, CancellationToken ct) =>
        CallAsync($"creating a hook on {scope.Display}", ct, async () =>
        {
            if (scope.Org is { } org)
            {
                var h = await client.Organization.Hook.Create(org, new NewOrganizationHook("web", Config(settings)) { Events = settings.Events, Active = settings.Active }).ConfigureAwait(false);
                return Parse(h.Id, h.Active, h.Events, h.Config);
            }
            var r = await client.Repository.Hooks.Create(scope.Owner!, scope.Name!, new NewRepositoryHook("web", Config(settings)) { Events = settings.Events, Active = settings.Active }).ConfigureAwait(false);
            return Parse(r.Id, r.Active, r.Events, r.Config);
        });

    public Task UpdateAsync(GithubHookScope scope, long id, GithubHookSettings settings, CancellationToken ct) =>
        CallAsync($"updating hook {id} of {scope.Display}", ct, async () =>
        {
            var config = Config(settings).ToDictionary();
            if (scope.Org is { } org)
                await client.Organization.Hook.Edit(org, checked((int)id), new EditOrganizationHook(config) { Events = settings.Events, Active = settings.Active }).ConfigureAwait(false);
            else
                await client.Repository.Hooks.Edit(scope.Owner!, scope.Name!, checked((int)id), new EditRepositoryHook(config) { Events = settings.Events, Active = settings.Active }).ConfigureAwait(false);
            return true;
        });

    /// <summary>A GitHub App installation's access token, asked for with the App's JWT as this client's credentials.</summary>
    public Task<(string Token, DateTimeOffset ExpiresAt)> InstallationTokenAsync(long installationId, CancellationToken ct) =>
        CallAsync($"getting an access token for GitHub App installation {installationId}", ct, async () =>
        {
            var token = await client.GitHubApps.CreateInstallationToken(installationId).ConfigureAwait(false);
            return (token.Token, token.ExpiresAt);
        });

    /// <summary>Deletes the hook; one already gone counts as deleted.</summary>
    public async Task DeleteAsync(GithubHookScope scope, long id, CancellationToken ct)
    {
        try
        {
            await CallAsync($"deleting hook {id} of {scope.Display}", ct, async () =>
            {
                if (scope.Org is { } org) await client.Organization.Hook.Delete(org, checked((int)id)).ConfigureAwait(false);
                else await client.Repository.Hooks.Delete(scope.Owner!, scope.Name!, checked((int)id)).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }
        catch (GithubApiException e) when (e.Status == HttpStatusCode.NotFound) { }
    }

    private static Dictionary<string, string> Config(GithubHookSettings s)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["url"] = s.Url,
            ["content_type"] = s.ContentType,
            ["insecure_ssl"] = s.Insecure ? "1" : "0",
        };
        if (s.Secret is not null) config["secret"] = s.Secret;
        return config;
    }

    private static GithubHook Parse(long id, bool active, IEnumerable<string>? events, IReadOnlyDictionary<string, string>? config)
    {
        string? Get(string key) => config is not null && config.TryGetValue(key, out var v) ? v : null;
        return new GithubHook(id, Get("url"), active, events?.ToList() ?? [], Get("content_type"), Get("insecure_ssl"), !string.IsNullOrEmpty(Get("secret")));
    }

    /// <summary>A secondary rate limit (or any refusal) may say when to come back in Retry-After, in seconds.</summary>
    private static TimeSpan? RetryAfter(ApiException e) =>
        e.HttpResponse?.Headers is { } headers && headers.TryGetValue("Retry-After", out var value)
            && int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds) : null;

    /// <summary>
    /// Octokit's calls take no CancellationToken: the request timeout bounds them, and a cancelled caller stops waiting
    /// at once (the abandoned request ends by its timeout).
    /// </summary>
    private static async Task<T> CallAsync<T>(string what, CancellationToken ct, Func<Task<T>> call)
    {
        try
        {
            return await call().WaitAsync(ct).ConfigureAwait(false);
        }
        catch (RateLimitExceededException e)
        {
            throw new GithubApiException(e.StatusCode, $"{what}: GitHub answered {(int)e.StatusCode} {e.Message}", e.GetRetryAfterTimeSpan());
        }
        catch (ApiException e)
        {
            var details = e.ApiError?.Errors?.Select(d => d.Message ?? $"{d.Resource}.{d.Field} {d.Code}").Where(m => !string.IsNullOrWhiteSpace(m)).ToList();
            var message = details is { Count: > 0 } ? $"{e.ApiError!.Message}: {string.Join("; ", details)}" : e.ApiError?.Message ?? e.Message;
            throw new GithubApiException(e.StatusCode, $"{what}: GitHub answered {(int)e.StatusCode} {message}", RetryAfter(e));
        }
        catch (HttpRequestException e)
        {
            throw new GithubApiException(HttpStatusCode.ServiceUnavailable, $"{what}: cannot reach GitHub: {e.Message}");
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new GithubApiException(HttpStatusCode.RequestTimeout, $"{what}: no answer from GitHub in time ({e.Message})");
        }
    }
}
