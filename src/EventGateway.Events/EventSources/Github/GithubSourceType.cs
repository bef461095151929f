using EventGateway.Model;
using static EventGateway.Events.EventSources.EventSettingsChecks;

namespace EventGateway.Events.EventSources.Github;

/// <summary>
/// Argo's <c>github</c> source type: a webhook endpoint for GitHub's deliveries, optionally keeping the
/// hooks registered. Its checks follow Argo's own validation where it has one.
/// </summary>
public sealed class GithubSourceType() : EventSourceType<GithubEventSource>("github")
{
    public static GithubSourceType Instance { get; } = new();

    protected override Dictionary<string, GithubEventSource>? EventsOf(EventSourceSpec spec) => spec.Github;

    public override IEventListener Listen(GithubEventSource settings) => new GithubListener(settings);

    public override void Validate(string at, GithubEventSource spec, Action<string, string> fail)
    {
        ValidateWebhookContext($"{at}.webhook", spec.Webhook, fail);
        if (spec.Webhook?.Url is { Length: > 0 } url && !IsGithubHttpUrl(url))
            fail($"{at}.webhook.url", $"'{url}' is not an absolute http(s) URL; GitHub delivers to it");
        ValidateFilter(at, spec.Filter, fail);
        ValidateSelector($"{at}.apiToken", spec.ApiToken, fail);
        ValidateSelector($"{at}.webhookSecret", spec.WebhookSecret, fail);

        if (spec.ContentType is { } ct && ct is not ("json" or "form"))
            fail($"{at}.contentType", $"'{ct}' is not a content type GitHub sends; expected json or form");

        for (var i = 0; i < (spec.Repositories?.Count ?? 0); i++)
        {
            var r = spec.Repositories![i];
            if (string.IsNullOrEmpty(r.Owner)) fail($"{at}.repositories[{i}].owner", "missing: the user or organization owning the repositories");
            if (r.Names is not { Count: > 0 }) fail($"{at}.repositories[{i}].names", "missing: at least one repository name");
            else if (r.Names.Any(string.IsNullOrEmpty)) fail($"{at}.repositories[{i}].names", "repository names must not be empty");
        }
        if (string.IsNullOrEmpty(spec.Owner) != string.IsNullOrEmpty(spec.Repository))
            fail($"{at}.{(string.IsNullOrEmpty(spec.Owner) ? "owner" : "repository")}", "the deprecated owner and repository go together; prefer repositories: [{owner, names}]");
        if (spec.Organizations?.Any(string.IsNullOrEmpty) == true) fail($"{at}.organizations", "organization names must not be empty");
        if (spec.Events?.Any(string.IsNullOrEmpty) == true) fail($"{at}.events", "event names must not be empty");
        for (var i = 0; i < (spec.Events?.Count ?? 0); i++)
            if (!string.IsNullOrEmpty(spec.Events![i]) && GithubEvents.Check(spec.Events[i]) is { } why) fail($"{at}.events[{i}]", why);

        if (spec.ApiToken is not null || spec.GithubApp is not null)
        {
            if (GithubHookRegistrar.Scopes(spec).Count == 0)
                fail($"{at}.repositories", $"{(spec.ApiToken is not null ? "apiToken" : "githubApp")} is set to register hooks, but there is nowhere to register them: give repositories or organizations");
            if (GithubHookRegistrar.Wanted(spec) && spec.Events is not { Count: > 0 })
                fail($"{at}.events", "missing: events must be listed to create a GitHub hook (e.g. [push], or [\"*\"] for all)");
        }

        // As Argo: both or neither, so a half-configured Enterprise setup never falls back to public GitHub.
        var hasBase = !string.IsNullOrEmpty(spec.GithubBaseUrl);
        var hasUpload = !string.IsNullOrEmpty(spec.GithubUploadUrl);
        if (hasBase != hasUpload)
            fail($"{at}.{(hasBase ? "githubUploadURL" : "githubBaseURL")}", $"{(hasBase ? "githubUploadURL" : "githubBaseURL")} is required when {(hasBase ? "githubBaseURL" : "githubUploadURL")} is set");
        if (hasBase && !IsGithubHttpUrl(spec.GithubBaseUrl!)) fail($"{at}.githubBaseURL", $"'{spec.GithubBaseUrl}' is not an absolute http(s) URL");
        if (hasUpload && !IsGithubHttpUrl(spec.GithubUploadUrl!)) fail($"{at}.githubUploadURL", $"'{spec.GithubUploadUrl}' is not an absolute http(s) URL");

        if (spec.GithubApp is { } app)
        {
            ValidateSelector($"{at}.githubApp.privateKey", app.PrivateKey, fail);
            if (app.PrivateKey is null) fail($"{at}.githubApp.privateKey", "missing: the Secret key holding the App's private key (PEM)");
            if (app.AppId is not > 0) fail($"{at}.githubApp.appID", "missing: the GitHub App's id (a positive number, on the App's settings page)");
            if (app.InstallationId is not > 0) fail($"{at}.githubApp.installationID", "missing: the id of the App's installation on the owner of the repositories or organizations");
        }
        if (spec.PayloadEnrichment is { Count: > 0 } pe && pe.Any(kv => kv.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<bool>(out var on) && on))
            fail($"{at}.payloadEnrichment", "payload enrichment (fetching extra data from the GitHub API per event) is not supported here");
    }

    private static bool IsGithubHttpUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps) && !string.IsNullOrEmpty(u.Host);
}
