namespace EventGateway.Workflows.Controller;

/// <summary>
/// Node ids are derived from node names, so the same decision made twice, for instance after a
/// restart, addresses the same node and the same step process. The hash is 64-bit: with 32 bits
/// (Argo's choice) a 10,000-step workflow gives two nodes one id in about one run in sixty.
/// </summary>
public static class NodeIds
{
    public static string For(string workflowName, string nodeName) =>
        nodeName == workflowName ? workflowName : $"{workflowName}-{Fnv1a64(nodeName):x16}";

    private static ulong Fnv1a64(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var c in s)
        {
            h ^= (byte)c;
            h *= 1099511628211UL;
            if (c > 0xff) { h ^= (byte)(c >> 8); h *= 1099511628211UL; }
        }
        return h;
    }
}
