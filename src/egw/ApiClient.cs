using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Cli;

/// <summary>Talks to `egw serve` over its Argo-shaped REST API.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    /// <param name="token">the bearer token sent with every request (only in the Authorization header, never a cookie); null: none</param>
    public ApiClient(string server, string? token)
    {
        _http = new HttpClient { BaseAddress = new Uri(server.TrimEnd('/') + "/"), Timeout = Timeout.InfiniteTimeSpan };
        if (token is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public static string DefaultServer => Environment.GetEnvironmentVariable("EGW_SERVER") is { Length: > 0 } s ? s : "http://localhost:2746";

    public async Task<Workflow> SubmitAsync(Workflow wf, IEnumerable<string> parameters, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["workflow"] = JsonSerializer.SerializeToNode(wf, Json.Options),
            ["parameters"] = new JsonArray([.. parameters.Select(p => (JsonNode)JsonValue.Create(p))]),
        };
        return await SendAsync<Workflow>(HttpMethod.Post, $"api/v1/workflows/{wf.NamespaceOrDefault}", body, ct);
    }

    public async Task<Workflow?> GetAsync(string ns, string name, CancellationToken ct)
    {
        using var resp = await _http.GetAsync($"api/v1/workflows/{ns}/{name}", ct);
        if (resp.StatusCode == HttpStatusCode.NotFound) return null;
        return await ReadAsync<Workflow>(resp, ct);
    }

    /// <param name="ns">a namespace, or "-" for every namespace</param>
    /// <param name="labelSelector">a Kubernetes label selector (<c>app=ci,tier!=test</c>); null for all</param>
    public async Task<List<Workflow>> ListAsync(string ns, CancellationToken ct, string? labelSelector = null)
    {
        var query = labelSelector is { Length: > 0 } ? "?listOptions.labelSelector=" + Uri.EscapeDataString(labelSelector) : "";
        var list = await SendAsync<JsonObject>(HttpMethod.Get, $"api/v1/workflows/{Uri.EscapeDataString(ns)}{query}", null, ct);
        return (list["items"] as JsonArray ?? []).Select(i => i.Deserialize<Workflow>(Json.Lenient)!).ToList();
    }

    public async Task DeleteAsync(string ns, string name, CancellationToken ct) =>
        await SendAsync<JsonObject>(HttpMethod.Delete, $"api/v1/workflows/{ns}/{name}", null, ct);

    public async IAsyncEnumerable<(string Pod, string Line)> LogsAsync(string ns, string name, bool follow, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var resp = await _http.GetAsync($"api/v1/workflows/{ns}/{name}/log?logOptions.follow={(follow ? "true" : "false")}", HttpCompletionOption.ResponseHeadersRead, ct);
        await EnsureAsync(resp, ct);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0) continue;
            var r = JsonNode.Parse(line)?["result"];
            yield return (r?["podName"]?.GetValue<string>() ?? "", r?["content"]?.GetValue<string>() ?? "");
        }
    }

    public Task<JsonObject> GetJsonAsync(string path, CancellationToken ct) => SendAsync<JsonObject>(HttpMethod.Get, path, null, ct);

    public Task<JsonObject> DeleteJsonAsync(string path, CancellationToken ct) => SendAsync<JsonObject>(HttpMethod.Delete, path, null, ct);

    public Task<JsonObject> PostJsonAsync(string path, JsonNode? body, CancellationToken ct) => SendAsync<JsonObject>(HttpMethod.Post, path, body ?? new JsonObject(), ct);

    public Task<JsonObject> PutJsonAsync(string path, JsonNode? body, CancellationToken ct) => SendAsync<JsonObject>(HttpMethod.Put, path, body ?? new JsonObject(), ct);

    public Task<Workflow> PutWorkflowAsync(string path, JsonNode body, CancellationToken ct) => SendAsync<Workflow>(HttpMethod.Put, path, body, ct);

    /// <summary>Sends manifest text (YAML or JSON) to be applied as one transaction; returns what was applied.</summary>
    public async Task<JsonObject> ApplyAsync(string text, string source, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, $"api/v1/apply?source={Uri.EscapeDataString(source)}") { Content = new StringContent(text, Encoding.UTF8, "application/yaml") };
        HttpResponseMessage resp;
        try { resp = await _http.SendAsync(req, ct); }
        catch (HttpRequestException e) { throw Unreachable(e); }
        using (resp) return await ReadAsync<JsonObject>(resp, ct);
    }

    private CliException Unreachable(HttpRequestException e) =>
        new($"cannot reach the server at {_http.BaseAddress}: {e.Message} (start it with `egw serve` or set --server / EGW_SERVER)");

    private async Task<T> SendAsync<T>(HttpMethod method, string path, JsonNode? body, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, path);
        if (body is not null) req.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        HttpResponseMessage resp;
        try { resp = await _http.SendAsync(req, ct); }
        catch (HttpRequestException e) { throw Unreachable(e); }
        using (resp) return await ReadAsync<T>(resp, ct);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage resp, CancellationToken ct)
    {
        await EnsureAsync(resp, ct);
        return (await resp.Content.ReadFromJsonAsync<T>(Json.Lenient, ct))!;
    }

    private static async Task EnsureAsync(HttpResponseMessage resp, CancellationToken ct)
    {
        if (resp.IsSuccessStatusCode) return;
        var text = await resp.Content.ReadAsStringAsync(ct);
        string message;
        try { message = JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? text; }
        catch (JsonException) { message = text; }
        throw resp.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new CliException(
                $"the server refused the request ({message}): give a valid token with --token or EGW_TOKEN; the server's admin token is in admin.token in its data directory"),
            HttpStatusCode.Forbidden => new CliException($"forbidden: {message}: use a token whose role and namespaces cover this"),
            HttpStatusCode.BadRequest => new CliException(message, ExitCodes.Invalid),
            _ => new CliException(message, ExitCodes.Failed),
        };
    }

    public void Dispose() => _http.Dispose();
}

internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Invalid = 2;
}

/// <summary>An error to show the user as one line, with the exit code it implies.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
