using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using EventGateway.Events.Log;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.Github;

/// <summary>
/// Keeps one hook per repository and organization of a <c>github</c> event pointing at this listener:
/// finds it by <c>config.url</c>, creates it when missing, updates it when events, active, content
/// type, TLS check or secret differ, and deletes it on finish when asked. Runs again whenever the
/// token's or webhook secret's Secret changes, so a rotated secret reaches GitHub without a restart.
/// </summary>
public sealed partial class GithubHookRegistrar(GithubEventSource spec, ListenerContext ctx)
{
    public static readonly Uri DefaultBaseUrl = new("https://api.github.com/");
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan MinBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DeleteTimeout = TimeSpan.FromSeconds(10);

    private readonly Dictionary<GithubHookScope, long> _managed = [];
    private readonly GithubCredentials _credentials = new(spec, ctx);

    /// <summary>Argo registers hooks only with credentials (apiToken or githubApp) and a public URL to point them at.</summary>
    public static bool Wanted(GithubEventSource spec) => GithubCredentials.Given(spec) && !string.IsNullOrEmpty(spec.Webhook?.Url);

    /// <summary>The URL GitHub delivers to: <c>webhook.url</c> joined with the endpoint.</summary>
    public static string HookUrl(WebhookContext c) => $"{c.Url!.TrimEnd('/')}/{(c.Endpoint ?? "").TrimStart('/')}";

    public static Uri BaseUrl(GithubEventSource spec) =>
        string.IsNullOrEmpty(spec.GithubBaseUrl) ? DefaultBaseUrl : new Uri(spec.GithubBaseUrl.EndsWith('/') ? spec.GithubBaseUrl : spec.GithubBaseUrl + "/");

    /// <summary><c>repositories</c>, else the deprecated <c>owner</c>/<c>repository</c>, then <c>organizations</c>.</summary>
    public static IReadOnlyList<GithubHookScope> Scopes(GithubEventSource spec)
    {
        var scopes = new List<GithubHookScope>();
        if (spec.Repositories is { Count: > 0 })
            foreach (var r in spec.Repositories)
                foreach (var name in r.Names ?? []) scopes.Add(GithubHookScope.Repository(r.Owner ?? "", name));
        else if (!string.IsNullOrEmpty(spec.Owner) && !string.IsNullOrEmpty(spec.Repository))
            scopes.Add(GithubHookScope.Repository(spec.Owner, spec.Repository));
        foreach (var org in spec.Organizations ?? []) scopes.Add(GithubHookScope.Organization(org));
        return scopes.Distinct().ToList();
    }

    /// <summary>Registers, then re-registers on Secret changes and retries failures with backoff, until cancelled.</summary>
    /// <param name="serving">the status target to report while all hooks are in place.</param>
    /// <param name="hold">cancelled when this replica no longer keeps the hooks: registering stops, nothing is deleted
    /// (deleteHookOnFinish is for the listener's end, <paramref name="stop"/>).</param>
    public async Task MaintainAsync(string serving, CancellationToken stop, CancellationToken hold = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, hold);
        var ct = linked.Token;
        var resync = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        using var watch = ctx.Store.Watch("Secret", c =>
        {
            if (c.Namespace == ctx.Namespace && GithubCredentials.SecretNames(spec).Contains(c.Name)) resync.Writer.TryWrite(true);
        });
        var backoff = MinBackoff;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                TimeSpan? retry = null;
                try
                {
                    var changed = await SyncAsync(ct).ConfigureAwait(false);
                    ctx.Status.Listening(serving);
                    LogSynced(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, _managed.Count, changed);
                    backoff = MinBackoff;
                }
                catch (Exception e) when (e is GithubApiException or InvalidOperationException && !ct.IsCancellationRequested)
                {
                    // The endpoint keeps serving: deliveries from hooks that already exist still arrive.
                    ctx.Status.Failed($"GitHub hook registration failed (endpoint {serving} still serving): {e.Message}");
                    LogSyncFailed(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, e.Message);
                    var asked = (e as GithubApiException)?.RetryAfter;
                    retry = asked is { } a && a > backoff ? (a < MaxBackoff ? a : MaxBackoff) : backoff;
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                }
                await WaitAsync(resync.Reader, retry, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            if (spec.DeleteHookOnFinish == true && stop.IsCancellationRequested) await DeleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Ensures every hook; returns how many were created or updated.</summary>
    public async Task<int> SyncAsync(CancellationToken ct)
    {
        var token = await _credentials.TokenAsync(BaseUrl(spec), RequestTimeout, ct).ConfigureAwait(false);
        var secret = spec.WebhookSecret is null ? null : await ctx.Secrets.RequireAsync(ctx.Namespace, spec.WebhookSecret, "webhookSecret", ct).ConfigureAwait(false);
        var api = new GithubHookApi(GithubHookApi.Connect(BaseUrl(spec), token, RequestTimeout));
        var desired = new GithubHookSettings(HookUrl(spec.Webhook!), spec.Events ?? [], spec.Active ?? true, spec.ContentType ?? "json", spec.Insecure ?? false, secret);
        var secretMark = secret is null ? "" : SecretMark(secret, desired.Url);
        var changed = 0;
        var failures = new List<GithubApiException>();
        foreach (var scope in Scopes(spec))
        {
            // One inaccessible repository must not keep the others from getting their hooks.
            try
            {
                if (await EnsureAsync(api, scope, desired, secretMark, ct).ConfigureAwait(false)) changed++;
            }
            catch (GithubApiException e)
            {
                failures.Add(e);
            }
        }
        if (failures.Count > 0)
            throw new GithubApiException(failures[0].Status, string.Join("; ", failures.Select(f => f.Message)), failures.Max(f => f.RetryAfter));
        return changed;
    }

    private async Task<bool> EnsureAsync(GithubHookApi api, GithubHookScope scope, GithubHookSettings desired, string secretMark, CancellationToken ct)
    {
        var key = ctx.StateKey("hook/" + scope.Path);
        var existing = (await api.ListAsync(scope, ct).ConfigureAwait(false)).FirstOrDefault(h => h.Url == desired.Url);
        if (existing is null)
        {
            var created = await api.CreateAsync(scope, desired, ct).ConfigureAwait(false);
            _managed[scope] = created.Id;
            await RememberAsync(key, created.Id, secretMark, ct).ConfigureAwait(false);
            LogCreated(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, created.Id, scope.Display);
            return true;
        }
        _managed[scope] = existing.Id;
        var remembered = await ctx.Log.GetSourceStateAsync(key, ct).ConfigureAwait(false);
        if (Difference(existing, desired, remembered, secretMark) is not { } why) return false;
        await api.UpdateAsync(scope, existing.Id, desired, ct).ConfigureAwait(false);
        await RememberAsync(key, existing.Id, secretMark, ct).ConfigureAwait(false);
        LogUpdated(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, existing.Id, scope.Display, why);
        return true;
    }

    /// <summary>Why the hook must be updated, or null when it already matches.</summary>
    public static string? Difference(GithubHook existing, GithubHookSettings desired, string? remembered, string secretMark)
    {
        var haveAll = existing.Events.Contains("*") && desired.Events.Contains("*");
        if (!haveAll && !existing.Events.ToHashSet(StringComparer.Ordinal).SetEquals(desired.Events))
            return $"events [{string.Join(",", existing.Events)}] -> [{string.Join(",", desired.Events)}]";
        if (existing.Active != desired.Active) return $"active {existing.Active} -> {desired.Active}";
        if (!string.Equals(existing.ContentType ?? "form", desired.ContentType, StringComparison.OrdinalIgnoreCase))
            return $"content_type {existing.ContentType} -> {desired.ContentType}";
        if ((existing.InsecureSsl ?? "0") != (desired.Insecure ? "1" : "0")) return $"insecure_ssl {existing.InsecureSsl} -> {(desired.Insecure ? "1" : "0")}";
        // The API never shows a secret: compare with the mark of the one this gateway last set.
        if (desired.Secret is not null && remembered != $"{existing.Id}:{secretMark}") return "secret changed or not set by this gateway";
        if (desired.Secret is null && existing.HasSecret) return "secret to be removed";
        return null;
    }

    /// <summary>A slow, salted digest of the secret: enough to notice a change, not to recover the secret.</summary>
    public static string SecretMark(string secret, string url) =>
        Convert.ToHexStringLower(Rfc2898DeriveBytes.Pbkdf2(secret, System.Text.Encoding.UTF8.GetBytes("egw-github-hook:" + url), 10_000, HashAlgorithmName.SHA256, 16));

    private Task RememberAsync(string key, long id, string secretMark, CancellationToken ct) =>
        ctx.Log.AppendAsync([], new SourceCheckpoint(key, $"{id}:{secretMark}"), ct);

    private async Task DeleteAsync()
    {
        if (_managed.Count == 0) return;
        using var timeout = new CancellationTokenSource(DeleteTimeout, ctx.Time);
        try
        {
            var token = await _credentials.TokenAsync(BaseUrl(spec), RequestTimeout, timeout.Token).ConfigureAwait(false);
            var api = new GithubHookApi(GithubHookApi.Connect(BaseUrl(spec), token, RequestTimeout));
            foreach (var (scope, id) in _managed)
            {
                try
                {
                    await api.DeleteAsync(scope, id, timeout.Token).ConfigureAwait(false);
                    LogDeleted(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, id, scope.Display);
                }
                catch (GithubApiException e)
                {
                    LogDeleteFailed(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, id, scope.Display, e.Message);
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            LogDeleteFailed(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, 0, "all scopes", e.Message);
        }
    }

    /// <summary>Waits for a Secret change, or the retry time after a failure, or cancellation.</summary>
    private async Task WaitAsync(ChannelReader<bool> resync, TimeSpan? retry, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var changed = resync.WaitToReadAsync(stop.Token).AsTask();
        var waits = retry is { } r ? new[] { changed, Task.Delay(r, ctx.Time, stop.Token) } : [changed];
        await Task.WhenAny(waits).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(waits).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        resync.TryRead(out _);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "github {Namespace}/{Source}/{Event}: {Count} hooks in place, {Changed} created or updated")]
    private static partial void LogSynced(ILogger log, string @namespace, string source, string @event, int count, int changed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "github {Namespace}/{Source}/{Event}: hook registration failed: {Reason}")]
    private static partial void LogSyncFailed(ILogger log, string @namespace, string source, string @event, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "github {Namespace}/{Source}/{Event}: created hook {Id} on {Scope}")]
    private static partial void LogCreated(ILogger log, string @namespace, string source, string @event, long id, string scope);

    [LoggerMessage(Level = LogLevel.Information, Message = "github {Namespace}/{Source}/{Event}: updated hook {Id} on {Scope}: {Why}")]
    private static partial void LogUpdated(ILogger log, string @namespace, string source, string @event, long id, string scope, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "github {Namespace}/{Source}/{Event}: deleted hook {Id} on {Scope}")]
    private static partial void LogDeleted(ILogger log, string @namespace, string source, string @event, long id, string scope);

    [LoggerMessage(Level = LogLevel.Warning, Message = "github {Namespace}/{Source}/{Event}: could not delete hook {Id} on {Scope}: {Reason}")]
    private static partial void LogDeleteFailed(ILogger log, string @namespace, string source, string @event, long id, string scope, string reason);
}
