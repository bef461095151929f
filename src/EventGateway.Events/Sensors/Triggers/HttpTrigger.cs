using System.Text;
using Microsoft.Extensions.Logging;
using EventGateway.Events.Sensors.Parameters;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// Argo Events' <c>http</c> trigger: one request per firing, with the payload built from the events, headers
/// (plain, from the events, from Secrets), basic auth and a timeout (Argo's default 60 s). Without
/// <c>policy.status.allow</c> any response counts as success, as in Argo; with it, another code is a
/// retryable failure. Network errors and timeouts are retryable; configuration errors are not.
/// </summary>
public sealed partial class HttpTrigger : ITrigger
{
    private const string At = "template.http";

    public string Kind => "http";

    public async Task<TriggerResult> FireAsync(TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(firing);
        ArgumentNullException.ThrowIfNull(context);
        var (spec, allowed) = Resolve(firing);
        var body = TriggerSpec.Payload(spec.Payload, firing, At);
        var method = spec.EffectiveMethod;
        var url = new Uri(spec.Url!);
        var shownUrl = WithoutUserInfo(url);

        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        // Go's client sends a body reader (possibly empty) for every method; a body-less GET stays body-less.
        if (body.Length > 0 || method is "POST" or "PUT" or "PATCH") request.Content = new ByteArrayContent(body);
        var headers = await HeadersAsync(spec, url, firing, context, ct).ConfigureAwait(false);
        foreach (var (name, value) in headers) AddHeader(request, name, value);
        if (!string.IsNullOrEmpty(spec.Host)) request.Headers.Host = spec.Host;

        var timeout = spec.EffectiveTimeout;
        using var deadline = new CancellationTokenSource(timeout, context.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        int status;
        try
        {
            using var response = await context.Http.Get(spec.Tls?.InsecureSkipVerify == true)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            status = (int)response.StatusCode;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TriggerException($"{method} {shownUrl}: no response within the timeout of {timeout.TotalSeconds:0.###}s", retryable: true);
        }
        catch (HttpRequestException e)
        {
            throw new TriggerException($"{method} {shownUrl} failed: {e.Message}", retryable: true, e);
        }

        var detail = $"{method} {shownUrl} → {status}";
        Log.Responded(context.Logger, firing.Sensor.NamespaceOrDefault, firing.Sensor.Name, firing.TriggerName, method, shownUrl, status);
        if (allowed is not null && !allowed.Contains(status))
            throw new TriggerException($"{detail}, not in policy.status.allow [{string.Join(", ", allowed)}]", retryable: true);
        return new TriggerResult(detail);
    }

    /// <summary>The http spec after its own parameters, checked as at load time, and the status policy.</summary>
    private static (HttpTriggerSpec Spec, IReadOnlyList<int>? Allowed) Resolve(TriggerFiring firing)
    {
        var problems = new List<string>();
        void Fail(string path, string reason) => problems.Add($"{path}: {reason}");

        var json = firing.Trigger.Template?.Http ?? throw new TriggerException($"{At}: missing", retryable: false);
        var declared = TriggerSpec.Read<HttpTriggerSpec>(json, At, Fail) ?? throw TriggerSpec.Refusal(problems);
        var applied = TriggerSpec.ApplyParameters(json, declared.Parameters, firing, At);
        var spec = ReferenceEquals(applied, json) ? declared : TriggerSpec.Read<HttpTriggerSpec>(applied, At, Fail) ?? throw TriggerSpec.Refusal(problems);
        spec.Validate(At, dependencies: null, Fail);
        var allowed = HttpTriggerSpec.AllowedStatuses(firing.Trigger.Policy, "policy", Fail);
        if (problems.Count > 0) throw TriggerSpec.Refusal(problems);
        return (spec, allowed);
    }

    /// <summary>Headers in Argo's order, a later one replacing an earlier one of the same name: plain, dynamic, secure, then basic auth.</summary>
    private static async Task<Dictionary<string, string>> HeadersAsync(HttpTriggerSpec spec, Uri url, TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in spec.Headers ?? []) headers[name] = value;
        for (var i = 0; i < (spec.DynamicHeaders?.Count ?? 0); i++)
        {
            var dynamic = spec.DynamicHeaders![i];
            ResolvedValue? value;
            try
            {
                value = ParameterResolver.Resolve(dynamic.Src!, firing.Events);
            }
            catch (ParameterException e)
            {
                throw new TriggerException($"{At}.dynamicHeaders[{i}]: {e.Reason}", retryable: false, e);
            }

            if (value is not null) headers[dynamic.Dest!] = value.Text;
        }

        foreach (var (name, value) in await TriggerSpec.SecureHeaderValuesAsync(spec.SecureHeaders, context, firing.Namespace, $"{At}.secureHeaders", ct).ConfigureAwait(false))
            headers[name] = value;

        string? user = null, password = null;
        if (spec.BasicAuth is { } auth)
        {
            user = auth.Username is { } u ? await TriggerSpec.SecretAsync(context, firing.Namespace, u, $"{At}.basicAuth.username", ct).ConfigureAwait(false) : null;
            password = auth.Password is { } p ? await TriggerSpec.SecretAsync(context, firing.Namespace, p, $"{At}.basicAuth.password", ct).ConfigureAwait(false) : null;
        }
        else if (url.UserInfo.Length > 0 && !headers.ContainsKey("Authorization"))
        {
            // Go's client turns credentials in the URL into basic auth when nothing else sets Authorization.
            var colon = url.UserInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? url.UserInfo : url.UserInfo[..colon]);
            password = colon < 0 ? "" : Uri.UnescapeDataString(url.UserInfo[(colon + 1)..]);
        }

        if (user is not null || password is not null)
            headers["Authorization"] = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        return headers;
    }

    /// <summary>Content headers (Content-Type, ...) go on the content, which an empty one is made for if needed.</summary>
    private static void AddHeader(HttpRequestMessage request, string name, string value)
    {
        if (request.Headers.TryAddWithoutValidation(name, value)) return;
        request.Content ??= new ByteArrayContent([]);
        if (!request.Content.Headers.TryAddWithoutValidation(name, value))
            throw new TriggerException($"{At}: header '{name}' cannot be set on a request", retryable: false);
    }

    /// <summary>The URL as shown in results and logs: credentials in it are never repeated.</summary>
    private static string WithoutUserInfo(Uri url) =>
        url.UserInfo.Length == 0 ? url.OriginalString : new UriBuilder(url) { UserName = "", Password = "" }.Uri.ToString();

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "http trigger {SensorNamespace}/{Sensor}/{Trigger}: {Method} {Url} answered {Status}")]
        public static partial void Responded(ILogger logger, string sensorNamespace, string sensor, string trigger, string method, string url, int status);
    }
}
