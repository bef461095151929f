namespace EventGateway.Workflows;

/// <summary>
/// Node ids are derived from node names (as Argo does), so the same decision made twice,
/// for instance after a restart, addresses the same node and the same step process.
/// </summary>
public static class NodeIds
{
    public static string For(string workflowName, string nodeName) =>
        nodeName == workflowName ? workflowName : $"{workflowName}-{Fnv1a(nodeName)}";

    private static uint Fnv1a(string s)
    {
        var h = 2166136261u;
        foreach (var c in s)
        {
            h ^= (byte)c;
            h *= 16777619u;
            if (c > 0xff) { h ^= (byte)(c >> 8); h *= 16777619u; }
        }
        return h;
    }
}
