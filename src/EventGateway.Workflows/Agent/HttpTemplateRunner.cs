using System.Globalization;
using System.Text;
using EventGateway.Languages.Expr;
using EventGateway.Model;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Agent;

/// <summary>
/// Argo's <c>http</c> template, made by the controller (Argo's agent). Without successCondition a status outside
/// 2xx fails the node, as in Argo's agent; with one, the expr-lang condition decides over <c>response.statusCode</c>,
/// <c>response.body</c> and <c>response.headers</c> (canonical names to lists of values) and <c>request.*</c>.
/// The body becomes <c>outputs.result</c>, cut at <see cref="OutputCollector.MaxResultBytes"/> as a script's
/// stdout is; the rest is never read.
/// </summary>
public sealed class HttpTemplateRunner(IResourceStore store, AgentHttpClients clients, TimeProvider time) : ITemplateRunner
{
    /// <summary>Argo's documented default for timeoutSeconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public TemplateType Type => TemplateType.Http;

    public async Task<PodResult> RunAsync(Workflow wf, PodRequest pod, CancellationToken ct)
    {
        var started = time.GetUtcNow();
        PodResult End(string phase, string? message, Outputs? outputs = null) => new(pod.NodeId, phase, message, null, outputs, started, time.GetUtcNow());

        var http = pod.Template.Http!;
        var method = string.IsNullOrEmpty(http.Method) ? "GET" : http.Method.ToUpperInvariant();
        if (Unresolved(http) is { } tag) return End(NodePhase.Error, $"failed to resolve {tag}");
        if (!Uri.TryCreate(http.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            return End(NodePhase.Error, $"http.url '{http.Url}' is not an absolute http or https URL");

        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        byte[] body;
        try { body = http.BodyFrom?.Bytes is { } b64 ? Convert.FromBase64String(b64) : Encoding.UTF8.GetBytes(http.Body ?? ""); }
        catch (FormatException) { return End(NodePhase.Error, "http.bodyFrom.bytes is not base64"); }
        if (body.Length > 0) request.Content = new ByteArrayContent(body);

        var sent = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var h in http.Headers ?? [])
        {
            var value = h.Value ?? "";
            if (h.ValueFrom?.SecretKeyRef is { } sref)
            {
                var secret = await store.GetAsync<Secret>(wf.NamespaceOrDefault, sref.Name ?? "", ct).ConfigureAwait(false);
                if (secret?.Value(sref.Key ?? "") is not { } v)
                    return End(NodePhase.Failed, $"http header {h.Name}: secret \"{sref.Name}\" {(secret is null ? "not found" : $"has no key \"{sref.Key}\"")}");
                value = v;
            }
            if (!AddHeader(request, h.Name, value)) return End(NodePhase.Error, $"http header '{h.Name}' cannot be set on a request");
            AddTo(sent, h.Name, value);
        }

        // timeoutSeconds bounds the request; the template's activeDeadlineSeconds bounds the node.
        var timeout = http.TimeoutSeconds is > 0 and var s ? TimeSpan.FromSeconds(s) : DefaultTimeout;
        var deadline = pod.ActiveDeadline is { } d && d < timeout;
        using var timer = new CancellationTokenSource(deadline ? pod.ActiveDeadline!.Value : timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
        int status;
        string text;
        var received = new Dictionary<string, object?>(StringComparer.Ordinal);
        try
        {
            using var response = await clients.Get(http.InsecureSkipVerify == true)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            status = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
                foreach (var v in values) AddTo(received, name, v);
            text = await ReadBoundedAsync(response.Content, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return End(NodePhase.Failed, deadline ? "Step exceeded its deadline"
                : $"{method} {url}: no response within timeoutSeconds ({timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s)");
        }
        catch (HttpRequestException e)
        {
            return End(NodePhase.Failed, $"{method} {url}: {e.Message}");
        }

        var outputs = new Outputs { Result = text };
        if (string.IsNullOrEmpty(http.SuccessCondition))
            return status is >= 200 and < 300 ? End(NodePhase.Succeeded, null, outputs) : End(NodePhase.Failed, $"received non-2xx response code: {status}", outputs);

        var env = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["request"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["method"] = method, ["url"] = http.Url, ["body"] = http.Body ?? "", ["headers"] = sent },
            ["response"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["statusCode"] = (long)status, ["body"] = text, ["headers"] = received },
        };
        try
        {
            return ArgoExpression.Evaluate(http.SuccessCondition, env) switch
            {
                true => End(NodePhase.Succeeded, null, outputs),
                false => End(NodePhase.Failed, $"successCondition '{http.SuccessCondition}' evaluated false", outputs),
                var other => End(NodePhase.Error, $"successCondition '{http.SuccessCondition}' gave {ArgoExpression.Stringify(other)}, not a bool", outputs),
            };
        }
        catch (ExpressionException e)
        {
            return End(NodePhase.Error, $"successCondition '{http.SuccessCondition}': {e.Message}", outputs);
        }
    }

    private static async Task<string> ReadBoundedAsync(HttpContent content, CancellationToken ct)
    {
        var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using var _ = stream.ConfigureAwait(false);
        var buffer = new byte[OutputCollector.MaxResultBytes];
        var n = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>Host rewrites the Host header, content headers go on the content, the rest on the request.</summary>
    private static bool AddHeader(HttpRequestMessage request, string name, string value)
    {
        if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
        {
            request.Headers.Host = value;
            return true;
        }
        if (request.Headers.TryAddWithoutValidation(name, value)) return true;
        request.Content ??= new ByteArrayContent([]);
        return request.Content.Headers.TryAddWithoutValidation(name, value);
    }

    /// <summary>Headers as Go's http.Header: canonical names (content-type becomes Content-Type) to lists of values.</summary>
    private static void AddTo(Dictionary<string, object?> headers, string name, string value)
    {
        var canonical = string.Join('-', name.Split('-').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..].ToLowerInvariant()));
        if (headers.GetValueOrDefault(canonical) is not List<object?> values) headers[canonical] = values = [];
        values.Add(value);
    }

    /// <summary>A {{...}} left in what is sent means a variable did not resolve; sending it would call the wrong thing.</summary>
    private static string? Unresolved(HttpTemplate http)
    {
        foreach (var text in new[] { http.Url, http.Body }.Concat((http.Headers ?? []).Select(h => h.Value)))
        {
            var i = text?.IndexOf("{{", StringComparison.Ordinal) ?? -1;
            if (i < 0) continue;
            var end = text!.IndexOf("}}", i, StringComparison.Ordinal);
            return end < 0 ? text[i..] : text[i..(end + 2)];
        }
        return null;
    }
}
