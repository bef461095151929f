using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace EventGateway.Tests.Support.Kubernetes;

/// <summary>
/// Paged lists (<c>limit</c>/<c>continue</c>), as the API server serves them from etcd: every page of one list is read
/// at the first page's resourceVersion (a consistent snapshot: writes between pages are not in later pages, and a watch
/// from the list's resourceVersion sees them), the continue token is opaque (base64 of the resourceVersion and the key
/// to start after), <c>remainingItemCount</c> is set, and a token whose resourceVersion was compacted away is answered
/// 410 Gone (reason Expired) with the API server's message. The snapshot is kept here per token, as etcd keeps its
/// MVCC revisions until compaction.
/// </summary>
public sealed partial class TestApiServer
{
    private readonly Dictionary<string, (long Rv, List<JsonObject> Items)> _snapshots = new(StringComparer.Ordinal);

    /// <summary>Null when the request asks for no paging (no limit, no continue): the plain list answers.</summary>
    private (int, JsonNode)? ListPaged(HttpContext c, ApiResourceType type, string? ns, LabelSelector selector)
    {
        var q = c.Request.Query;
        var cont = q["continue"].ToString();
        var limit = int.TryParse(q["limit"], out var l) && l > 0 ? l : 0;
        if (cont.Length == 0 && limit == 0) return null;
        long rv;
        List<JsonObject> items;
        var start = 0;
        lock (_gate)
        {
            if (cont.Length > 0)
            {
                string snapshot;
                try
                {
                    var token = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(cont)))!;
                    (rv, snapshot, start) = (token["rv"]!.GetValue<long>(), token["snapshot"]!.GetValue<string>(), token["start"]!.GetValue<int>());
                }
                catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or NullReferenceException or InvalidOperationException)
                {
                    return (400, StatusObject(400, "BadRequest", $"continue key is not valid: {e.Message}", null));
                }
                if (rv < _compactedThrough || !_snapshots.TryGetValue(snapshot, out var snap))
                    return (410, StatusObject(410, "Expired",
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.", null));
                items = snap.Items;
                cont = snapshot;
            }
            else
            {
                rv = _rv;
                items = [];
                foreach (var ((t, ons, _), o) in _objects.OrderBy(e => e.Key.Ns, StringComparer.Ordinal).ThenBy(e => e.Key.Name, StringComparer.Ordinal))
                    if (t == type && (ns is null || ons == ns) && selector.Matches(o)) items.Add((JsonObject)o.DeepClone());
                cont = Guid.NewGuid().ToString("N");
                _snapshots[cont] = (rv, items);
            }
        }
        var page = limit == 0 ? items.Skip(start).ToList() : items.Skip(start).Take(limit).ToList();
        var next = start + page.Count;
        var meta = new JsonObject { ["resourceVersion"] = Rv(rv) };
        if (next < items.Count)
        {
            meta["continue"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(new JsonObject { ["rv"] = rv, ["snapshot"] = cont, ["start"] = next }.ToJsonString()));
            meta["remainingItemCount"] = items.Count - next;
        }
        else lock (_gate) _snapshots.Remove(cont);
        return (200, new JsonObject
        {
            ["kind"] = type.Kind + "List",
            ["apiVersion"] = type.ApiVersion,
            ["metadata"] = meta,
            ["items"] = new JsonArray([.. page.Select(i => (JsonNode)i.DeepClone())]),
        });
    }
}
