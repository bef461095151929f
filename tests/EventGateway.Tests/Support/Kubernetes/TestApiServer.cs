using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EventGateway.Tests.Support.Kubernetes;

/// <summary>
/// A Kubernetes API server for tests: real Kestrel on a loopback port, objects in memory, and the semantics a client
/// relies on, per the API conventions: discovery (/api, /apis, /api/v1, /apis/GROUP/VERSION), namespaced and
/// cluster-scoped list/get/create/update/patch (merge patch, JSON patch)/delete, the status subresource, one global
/// resourceVersion, 409 on a stale update, Status objects for every error, label selectors, field selectors on
/// metadata.name/metadata.namespace, and watch streams
/// (JSON lines of {type, object}, BOOKMARKs when asked for, an ERROR 410 Expired event for a resourceVersion older than
/// the compacted history). Test hooks: <see cref="Compact"/>, <see cref="DropWatches"/>, <see cref="FailNext"/>,
/// <see cref="StopAsync"/>/<see cref="StartAsync()"/>, <see cref="SendBookmarks"/>, and the request log.
/// State survives a stop, as etcd outlives an API server restart. Paging: TestApiServer.Paging.cs. Not modelled (yet):
/// finalizers and deletionTimestamp, server-side apply, strategic merge for lists, admission and CRD schema validation.
/// </summary>
public sealed partial class TestApiServer : IAsyncDisposable
{
    public sealed record Request(string Method, string Path, string Query, int Status);

    private sealed record Change(long Rv, ApiResourceType Type, string Type2, JsonObject Object, JsonObject? Old);

    private sealed class WatchConnection
    {
        public required ApiResourceType Type { get; init; }
        public required string? Namespace { get; init; }
        public required LabelSelector Selector { get; init; }
        public required bool Bookmarks { get; init; }
        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();
        public CancellationTokenSource Dropped { get; } = new();
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<(ApiResourceType Type, string Ns, string Name), JsonObject> _objects = [];
    private readonly List<Change> _history = [];
    private readonly List<WatchConnection> _watches = [];
    private readonly List<Request> _requests = [];
    private readonly Queue<int> _failures = new();
    private long _rv = 1000;
    private long _compactedThrough;
    private WebApplication? _app;

    private TestApiServer(IReadOnlyList<ApiResourceType> types) => Types = types;

    public IReadOnlyList<ApiResourceType> Types { get; }

    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}";

    public static async Task<TestApiServer> StartAsync(IReadOnlyList<ApiResourceType>? types = null)
    {
        var server = new TestApiServer(types ?? ApiResourceType.Defaults);
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts (again) on the same port; objects and history are kept.</summary>
    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port));
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        Port = new Uri(app.Urls.First()).Port;
        _app = app;
    }

    /// <summary>Stops listening and ends every watch, as an API server going away does.</summary>
    public async Task StopAsync()
    {
        DropWatches();
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>A kubeconfig naming this server (plain HTTP, no credentials), for <c>--kubeconfig</c>.</summary>
    public string WriteKubeconfig(string path)
    {
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster:
                server: {Url}
            users:
            - name: test
              user:
                token: test-token
            contexts:
            - name: test
              context:
                cluster: test
                user: test
                namespace: default
            current-context: test
            """);
        return path;
    }

    // ---- test hooks ----

    public long ResourceVersion
    {
        get { lock (_gate) return _rv; }
    }

    /// <summary>Forgets the history up to now: a watch from an older resourceVersion gets 410 Gone.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _compactedThrough = _rv;
            _history.Clear();
        }
    }

    /// <summary>Ends every open watch stream (the client sees its connection end, as on a network cut).</summary>
    public void DropWatches()
    {
        List<WatchConnection> all;
        lock (_gate)
        {
            all = _watches.ToList();
            _watches.Clear();
        }
        foreach (var w in all) w.Dropped.Cancel();
    }

    /// <summary>Answers the next <paramref name="count"/> requests with <paramref name="status"/> (500 or 503) and a Status body.</summary>
    public void FailNext(int count, int status = 500)
    {
        lock (_gate) for (var i = 0; i < count; i++) _failures.Enqueue(status);
    }

    /// <summary>Forgets failures still queued by <see cref="FailNext"/>.</summary>
    public void StopFailing()
    {
        lock (_gate) _failures.Clear();
    }

    /// <summary>Sends a BOOKMARK at the current resourceVersion on every watch that asked for bookmarks.</summary>
    public void SendBookmarks()
    {
        lock (_gate)
            foreach (var w in _watches.Where(w => w.Bookmarks))
                w.Lines.Writer.TryWrite(Line("BOOKMARK", new JsonObject
                {
                    ["kind"] = w.Type.Kind,
                    ["apiVersion"] = w.Type.ApiVersion,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _rv.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                }));
    }

    public int OpenWatches(string plural)
    {
        lock (_gate) return _watches.Count(w => w.Type.Plural == plural);
    }

    public IReadOnlyList<Request> Requests
    {
        get { lock (_gate) return _requests.ToList(); }
    }

    // ---- direct access for tests (the same code paths as the HTTP verbs, no HTTP) ----

    public JsonObject? Get(string plural, string? ns, string name)
    {
        lock (_gate) return _objects.TryGetValue((TypeOf(plural), ns ?? "", name), out var o) ? (JsonObject)o.DeepClone() : null;
    }

    public JsonObject Create(string plural, string? ns, JsonObject body)
    {
        var (status, result) = CreateObject(TypeOf(plural), ns, body);
        return status == 201 ? result : throw new InvalidOperationException(result.ToJsonString());
    }

    /// <summary>Replaces the object's spec-side fields from <paramref name="body"/> (status kept), whatever its resourceVersion.</summary>
    public JsonObject Update(string plural, string? ns, JsonObject body)
    {
        var type = TypeOf(plural);
        var name = body["metadata"]!["name"]!.GetValue<string>();
        lock (_gate)
        {
            var current = _objects[(type, ns ?? "", name)];
            body = (JsonObject)body.DeepClone();
            body["metadata"]!["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();
        }
        var (status, result) = UpdateObject(type, ns, name, body, subresource: null);
        return status == 200 ? result : throw new InvalidOperationException(result.ToJsonString());
    }

    public bool Delete(string plural, string? ns, string name) => DeleteObject(TypeOf(plural), ns, name).Status == 200;

    private ApiResourceType TypeOf(string plural) => Types.Single(t => t.Plural == plural);

    // ---- HTTP ----

    private async Task HandleAsync(HttpContext c)
    {
        var path = c.Request.Path.Value ?? "/";
        int? failure = null;
        lock (_gate) if (_failures.Count > 0) failure = _failures.Dequeue();
        if (failure is { } f)
        {
            Record(c, f);
            await WriteAsync(c, f, StatusObject(f, f == 503 ? "ServiceUnavailable" : "InternalError", f == 503 ? "the server is currently unable to handle the request" : "an error on the server (\"injected by the test\") has prevented the request from succeeding", null));
            return;
        }
        if (BeforeRequest is { } before) await before(c.Request);
        int status;
        JsonNode body;
        try { (status, body) = await RouteAsync(c, path); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug of this test server must show, not hang a client: answered as the API server's InternalError.
            (status, body) = (500, StatusObject(500, "InternalError", $"test API server: {e}", null));
        }
        if (status == 0) return; // a watch: already streamed
        Record(c, status);
        await WriteAsync(c, status, body);
    }

    private void Record(HttpContext c, int status)
    {
        lock (_gate) _requests.Add(new Request(c.Request.Method, c.Request.Path.Value ?? "/", c.Request.QueryString.Value ?? "", status));
    }

    private static async Task WriteAsync(HttpContext c, int status, JsonNode body)
    {
        c.Response.StatusCode = status;
        c.Response.ContentType = "application/json";
        await c.Response.WriteAsync(body.ToJsonString());
    }

    private async Task<(int, JsonNode)> RouteAsync(HttpContext c, string path)
    {
        var seg = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var method = c.Request.Method;
        if (seg.Length == 1 && seg[0] == "version") return (200, new JsonObject { ["major"] = "1", ["minor"] = "34", ["gitVersion"] = "v1.34.0-egw-test" });
        if (seg.Length == 1 && seg[0] == "api") return (200, new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1") });
        if (seg.Length == 1 && seg[0] == "apis") return (200, GroupList());
        string group, version;
        string[] rest;
        if (seg.Length >= 2 && seg[0] == "api") (group, version, rest) = ("", seg[1], seg[2..]);
        else if (seg.Length >= 3 && seg[0] == "apis") (group, version, rest) = (seg[1], seg[2], seg[3..]);
        else return (404, StatusObject(404, "NotFound", "the server could not find the requested resource", null));
        if (!Types.Any(t => t.Group == group && t.Version == version))
            return (404, StatusObject(404, "NotFound", "the server could not find the requested resource", null));
        if (rest.Length == 0) return (200, ResourceList(group, version));

        string? ns = null;
        if (rest.Length >= 3 && rest[0] == "namespaces") { ns = rest[1]; rest = rest[2..]; }
        var type = Types.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == rest[0]);
        if (type is null) return (404, StatusObject(404, "NotFound", "the server could not find the requested resource", null));
        if (ns is not null && !type.Namespaced) return (404, StatusObject(404, "NotFound", "the server could not find the requested resource", null));
        if (type.Namespaced && ns is null && rest.Length > 1)
            return (404, StatusObject(404, "NotFound", "the server could not find the requested resource", null));
        var name = rest.Length > 1 ? rest[1] : null;
        var sub = rest.Length > 2 ? rest[2] : null;
        if (sub == "log" && type.Plural == "pods" && rest.Length == 3 && ns is not null) return await PodLogAsync(c, ns, name!); // TestApiServer.Pods.cs
        if (rest.Length > 3 || (sub is not null && (sub != "status" || !type.HasStatus)))
            return (404, StatusObject(404, "NotFound", "the server could not find the requested resource", null));

        if (name is null)
        {
            if (method == "GET")
            {
                LabelSelector selector;
                try { selector = LabelSelector.Parse(c.Request.Query["labelSelector"]).WithFields(c.Request.Query["fieldSelector"]); }
                catch (FormatException e) { return (400, StatusObject(400, "BadRequest", $"unable to parse requirement: {e.Message}", null)); }
                if (c.Request.Query["watch"] is var w && (w == "true" || w == "1"))
                {
                    await WatchAsync(c, type, ns, selector);
                    return (0, new JsonObject());
                }
                return ListPaged(c, type, ns, selector) ?? (200, List(type, ns, selector));
            }
            if (method == "POST")
            {
                if (type.Namespaced && ns is null) return (404, StatusObject(404, "NotFound", "the server could not find the requested resource", null));
                if (await ReadBodyAsync(c) is not JsonObject body) return (400, StatusObject(400, "BadRequest", "the request body is not a JSON object", null));
                return CreateObject(type, ns, body);
            }
            return (405, StatusObject(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource", null));
        }

        switch (method)
        {
            case "GET":
                lock (_gate)
                    return _objects.TryGetValue((type, ns ?? "", name), out var o) ? (200, o.DeepClone()) : (404, NotFound(type, name));
            case "PUT":
                if (await ReadBodyAsync(c) is not JsonObject body) return (400, StatusObject(400, "BadRequest", "the request body is not a JSON object", null));
                return UpdateObject(type, ns, name, body, sub);
            case "PATCH":
                return await PatchAsync(c, type, ns, name, sub);
            case "DELETE":
                if (sub is not null) return (405, StatusObject(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", null));
                return DeleteObject(type, ns, name);
            default:
                return (405, StatusObject(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", null));
        }
    }

    private static async Task<JsonNode?> ReadBodyAsync(HttpContext c)
    {
        try { return await JsonNode.ParseAsync(c.Request.Body); }
        catch (JsonException) { return null; }
    }

    private JsonObject GroupList()
    {
        var groups = new JsonArray();
        foreach (var g in Types.Where(t => t.Group.Length > 0).GroupBy(t => t.Group))
        {
            var versions = new JsonArray();
            foreach (var v in g.Select(t => t.Version).Distinct())
                versions.Add(new JsonObject { ["groupVersion"] = $"{g.Key}/{v}", ["version"] = v });
            groups.Add(new JsonObject { ["name"] = g.Key, ["versions"] = versions, ["preferredVersion"] = versions[0]!.DeepClone() });
        }
        return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    private JsonObject ResourceList(string group, string version)
    {
        var resources = new JsonArray();
        foreach (var t in Types.Where(t => t.Group == group && t.Version == version))
        {
            resources.Add(new JsonObject
            {
                ["name"] = t.Plural,
                ["singularName"] = t.Kind.ToLowerInvariant(),
                ["namespaced"] = t.Namespaced,
                ["kind"] = t.Kind,
                ["verbs"] = new JsonArray("create", "delete", "get", "list", "patch", "update", "watch"),
            });
            if (t.HasStatus)
                resources.Add(new JsonObject
                {
                    ["name"] = $"{t.Plural}/status",
                    ["singularName"] = "",
                    ["namespaced"] = t.Namespaced,
                    ["kind"] = t.Kind,
                    ["verbs"] = new JsonArray("get", "patch", "update"),
                });
        }
        return new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}", ["resources"] = resources };
    }

    private JsonObject List(ApiResourceType type, string? ns, LabelSelector selector)
    {
        var items = new JsonArray();
        long rv;
        lock (_gate)
        {
            rv = _rv;
            foreach (var ((t, ons, _), o) in _objects.OrderBy(e => e.Key.Ns, StringComparer.Ordinal).ThenBy(e => e.Key.Name, StringComparer.Ordinal))
                if (t == type && (ns is null || ons == ns) && selector.Matches(o)) items.Add(o.DeepClone());
        }
        return new JsonObject
        {
            ["kind"] = type.Kind + "List",
            ["apiVersion"] = type.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = Rv(rv) },
            ["items"] = items,
        };
    }

    private (int, JsonObject) CreateObject(ApiResourceType type, string? ns, JsonObject body)
    {
        body = (JsonObject)body.DeepClone();
        if (Mismatch(type, body) is { } bad) return (400, bad);
        var meta = body["metadata"] as JsonObject ?? new JsonObject();
        body["metadata"] = meta;
        if (meta["namespace"]?.GetValue<string>() is { } bodyNs && type.Namespaced && bodyNs != ns)
            return (400, StatusObject(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request", null));
        var name = meta["name"]?.GetValue<string>();
        if (string.IsNullOrEmpty(name))
        {
            if (meta["generateName"]?.GetValue<string>() is not { Length: > 0 } prefix)
                return (422, Invalid(type, "", "metadata.name: Required value: name or generateName is required"));
            name = prefix + Guid.NewGuid().ToString("N")[..5];
            meta["name"] = name;
        }
        if (!IsDnsSubdomain(name))
            return (422, Invalid(type, name, $"metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"));
        if (type.HasStatus && type.IsCustom) body.Remove("status"); // the status subresource owns it: ignored on create
        lock (_gate)
        {
            var key = (type, ns ?? "", name);
            if (_objects.ContainsKey(key))
                return (409, StatusObject(409, "AlreadyExists", $"{type.QualifiedPlural} \"{name}\" already exists", Details(type, name)));
            var rv = ++_rv;
            if (type.Namespaced) meta["namespace"] = ns;
            else meta.Remove("namespace");
            meta["uid"] = Guid.NewGuid().ToString();
            meta["resourceVersion"] = Rv(rv);
            meta["generation"] = 1L;
            meta["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
            body["apiVersion"] = type.ApiVersion;
            body["kind"] = type.Kind;
            _objects[key] = body;
            Publish(new Change(rv, type, "ADDED", body, null));
            return (201, (JsonObject)body.DeepClone());
        }
    }

    private (int, JsonObject) UpdateObject(ApiResourceType type, string? ns, string name, JsonObject body, string? subresource)
    {
        body = (JsonObject)body.DeepClone();
        if (Mismatch(type, body) is { } bad) return (400, bad);
        var meta = body["metadata"] as JsonObject;
        if (meta?["name"]?.GetValue<string>() is { } bodyName && bodyName != name)
            return (400, StatusObject(400, "BadRequest", $"the name of the object ({bodyName}) does not match the name on the URL ({name})", null));
        if (meta?["namespace"]?.GetValue<string>() is { } bodyNs && type.Namespaced && bodyNs != ns)
            return (400, StatusObject(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request", null));
        lock (_gate)
        {
            if (!_objects.TryGetValue((type, ns ?? "", name), out var current)) return (404, NotFound(type, name));
            var sentRv = meta?["resourceVersion"]?.GetValue<string>();
            if (string.IsNullOrEmpty(sentRv) && type.IsCustom)
                return (422, Invalid(type, name, "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"));
            if (!string.IsNullOrEmpty(sentRv) && sentRv != current["metadata"]!["resourceVersion"]!.GetValue<string>())
                return (409, StatusObject(409, "Conflict",
                    $"Operation cannot be fulfilled on {type.QualifiedPlural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", Details(type, name)));
            JsonObject next;
            if (subresource == "status")
            {
                next = (JsonObject)current.DeepClone();
                if (body["status"] is { } st) next["status"] = st.DeepClone();
                else next.Remove("status");
            }
            else
            {
                next = body;
                var m = (JsonObject)current["metadata"]!.DeepClone();
                foreach (var field in new[] { "labels", "annotations", "finalizers", "ownerReferences" })
                    if (meta?[field] is { } v) m[field] = v.DeepClone();
                    else m.Remove(field);
                next["metadata"] = m;
                if (type.HasStatus)
                {
                    if (current["status"] is { } st) next["status"] = st.DeepClone();
                    else next.Remove("status");
                }
                if (!JsonNode.DeepEquals(Spec(current), Spec(next)))
                    m["generation"] = (current["metadata"]!["generation"] is { } g ? long.Parse(g.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) : 1) + 1;
            }
            next["apiVersion"] = type.ApiVersion;
            next["kind"] = type.Kind;
            if (JsonNode.DeepEquals(next, current)) return (200, (JsonObject)current.DeepClone()); // no-op: no new resourceVersion, no event
            var rv = ++_rv;
            next["metadata"]!["resourceVersion"] = Rv(rv);
            _objects[(type, ns ?? "", name)] = next;
            Publish(new Change(rv, type, "MODIFIED", next, current));
            return (200, (JsonObject)next.DeepClone());
        }
    }

    /// <summary>
    /// A patch applies to the latest object, atomically (under the lock, as the API server retries internally); the
    /// result is checked like an update, so a patch that names a stale metadata.resourceVersion gets 409.
    /// </summary>
    private async Task<(int, JsonNode)> PatchAsync(HttpContext c, ApiResourceType type, string? ns, string name, string? sub)
    {
        var contentType = c.Request.ContentType?.Split(';')[0].Trim() ?? "";
        var patch = await ReadBodyAsync(c);
        if (patch is null) return (400, StatusObject(400, "BadRequest", "the patch is not JSON", null));
        lock (_gate)
        {
            if (!_objects.TryGetValue((type, ns ?? "", name), out var current)) return (404, NotFound(type, name));
            JsonNode? patched;
            try
            {
                patched = contentType switch
                {
                    "application/merge-patch+json" => JsonPatches.Merge(current, patch),
                    "application/strategic-merge-patch+json" when !type.IsCustom => JsonPatches.Merge(current, patch),
                    "application/json-patch+json" when patch is JsonArray ops => JsonPatches.Apply(current, ops),
                    "application/json-patch+json" => throw new InvalidOperationException("a JSON patch must be an array of operations"),
                    _ => null,
                };
            }
            catch (InvalidOperationException e)
            {
                return (422, Invalid(type, name, e.Message));
            }
            if (patched is null)
                return (415, StatusObject(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json{(type.IsCustom ? "" : ", application/strategic-merge-patch+json")}", null));
            if (patched is not JsonObject next) return (422, Invalid(type, name, "the patched object is not a JSON object"));
            if (next["metadata"] is not JsonObject) next["metadata"] = current["metadata"]!.DeepClone();
            if (string.IsNullOrEmpty(next["metadata"]!["resourceVersion"]?.GetValue<string>()))
                next["metadata"]!["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();
            if (sub == "status")
            {
                // Through the status subresource only status changes; the rest of the patch is ignored.
                var only = (JsonObject)current.DeepClone();
                only["metadata"] = next["metadata"]!.DeepClone();
                if (next["status"] is { } st) only["status"] = st.DeepClone(); else only.Remove("status");
                next = only;
            }
            return UpdateObject(type, ns, name, next, sub);
        }
    }

    private (int Status, JsonObject Body) DeleteObject(ApiResourceType type, string? ns, string name)
    {
        lock (_gate)
        {
            if (!_objects.Remove((type, ns ?? "", name), out var gone)) return (404, NotFound(type, name));
            var rv = ++_rv;
            gone["metadata"]!["resourceVersion"] = Rv(rv);
            Publish(new Change(rv, type, "DELETED", gone, null));
            return (200, (JsonObject)gone.DeepClone());
        }
    }

    private static JsonObject Spec(JsonObject o)
    {
        var copy = (JsonObject)o.DeepClone();
        copy.Remove("metadata");
        copy.Remove("status");
        return copy;
    }

    private static JsonObject? Mismatch(ApiResourceType type, JsonObject body)
    {
        if (body["kind"]?.GetValue<string>() is { } kind && kind != type.Kind)
            return StatusObject(400, "BadRequest", $"the kind of the object ({kind}) does not match the resource ({type.QualifiedPlural}: {type.Kind})", null);
        if (body["apiVersion"]?.GetValue<string>() is { } av && av != type.ApiVersion)
            return StatusObject(400, "BadRequest", $"the apiVersion of the object ({av}) does not match the resource's ({type.ApiVersion})", null);
        return null;
    }

    private static bool IsDnsSubdomain(string name) =>
        name.Length <= 253 && name.All(ch => char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch is '-' or '.')
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1]);

    // ---- watch ----

    /// <summary>Called with the lock held: records the change and hands it to every matching watch.</summary>
    private void Publish(Change change)
    {
        _history.Add(change);
        foreach (var w in _watches)
            if (EventFor(w, change) is { } line) w.Lines.Writer.TryWrite(line);
    }

    /// <summary>What one watch sees of a change: a MODIFIED that leaves (enters) the selector is a DELETED (ADDED) to it.</summary>
    private static string? EventFor(WatchConnection w, Change change)
    {
        if (change.Type != w.Type) return null;
        var ns = change.Object["metadata"]?["namespace"]?.GetValue<string>() ?? "";
        if (w.Namespace is not null && ns != w.Namespace) return null;
        var now = w.Selector.Matches(change.Object);
        var before = change.Old is not null && w.Selector.Matches(change.Old);
        return change.Type2 switch
        {
            "MODIFIED" when now && before => Line("MODIFIED", change.Object),
            "MODIFIED" when now => Line("ADDED", change.Object),
            "MODIFIED" when before => Line("DELETED", change.Object),
            "MODIFIED" => null,
            _ => now ? Line(change.Type2, change.Object) : null,
        };
    }

    private static string Line(string type, JsonObject obj) => new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString() + "\n";

    private async Task WatchAsync(HttpContext c, ApiResourceType type, string? ns, LabelSelector selector)
    {
        var q = c.Request.Query;
        var w = new WatchConnection { Type = type, Namespace = ns, Selector = selector, Bookmarks = q["allowWatchBookmarks"] == "true" };
        var requested = q["resourceVersion"].ToString();
        string? expired = null;
        lock (_gate)
        {
            if (requested is "" or "0")
            {
                // No resourceVersion: the current state as ADDED events, then changes from here.
                foreach (var ((t, ons, _), o) in _objects.OrderBy(e => e.Key.Ns, StringComparer.Ordinal).ThenBy(e => e.Key.Name, StringComparer.Ordinal))
                    if (t == type && (ns is null || ons == ns) && selector.Matches(o)) w.Lines.Writer.TryWrite(Line("ADDED", o));
            }
            else if (!long.TryParse(requested, out var from))
            {
                expired = null;
                w.Lines.Writer.TryWrite(Line("ERROR", StatusObject(400, "BadRequest", $"invalid resourceVersion \"{requested}\"", null)));
                w.Lines.Writer.TryComplete();
            }
            else if (from < _compactedThrough)
            {
                expired = $"too old resource version: {from} ({_compactedThrough})";
            }
            else
            {
                foreach (var change in _history.Where(h => h.Rv > from))
                    if (EventFor(w, change) is { } line) w.Lines.Writer.TryWrite(line);
            }
            if (expired is null && !w.Lines.Reader.Completion.IsCompleted) _watches.Add(w);
        }
        Record(c, 200);
        c.Response.StatusCode = 200;
        c.Response.ContentType = "application/json";
        if (expired is not null)
        {
            // As the API server does for an expired resourceVersion: 200, one ERROR event carrying a 410 Status, end of stream.
            await c.Response.WriteAsync(Line("ERROR", StatusObject(410, "Expired", expired, null)));
            return;
        }
        await c.Response.Body.FlushAsync();
        var timeout = int.TryParse(q["timeoutSeconds"], out var s) && s > 0 ? TimeSpan.FromSeconds(s) : Timeout.InfiniteTimeSpan;
        using var end = CancellationTokenSource.CreateLinkedTokenSource(c.RequestAborted, w.Dropped.Token);
        if (timeout != Timeout.InfiniteTimeSpan) end.CancelAfter(timeout);
        try
        {
            await foreach (var line in w.Lines.Reader.ReadAllAsync(end.Token))
            {
                await c.Response.WriteAsync(line, end.Token);
                await c.Response.Body.FlushAsync(end.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        finally
        {
            lock (_gate) _watches.Remove(w);
        }
        if (w.Dropped.IsCancellationRequested) c.Abort(); // a cut connection, not a clean end of stream
    }

    // ---- Status objects ----

    private static string Rv(long rv) => rv.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static JsonObject Details(ApiResourceType type, string name) =>
        new() { ["name"] = name, ["group"] = type.Group, ["kind"] = type.Plural };

    private static JsonObject NotFound(ApiResourceType type, string name) =>
        StatusObject(404, "NotFound", $"{type.QualifiedPlural} \"{name}\" not found", Details(type, name));

    private static JsonObject Invalid(ApiResourceType type, string name, string cause) =>
        StatusObject(422, "Invalid", $"{type.Kind}.{(type.Group.Length == 0 ? "" : type.Group)} \"{name}\" is invalid: {cause}".Replace(". \"", " \"", StringComparison.Ordinal), Details(type, name));

    public static JsonObject StatusObject(int code, string reason, string message, JsonObject? details) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["details"] = details,
        ["code"] = code,
    };
}
