namespace EventGateway.Workflows.Store;

/// <summary>The archive's listing form of a workflow, the same in every archive.</summary>
public static class ArchiveSummary
{
    /// <summary>What a listing shows: metadata and the status without nodes and frozen templates (Argo lists the same way).</summary>
    public static string Of(string body)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(body)!.AsObject();
        node.Remove("spec");
        if (node["status"] is System.Text.Json.Nodes.JsonObject status)
            foreach (var heavy in new[] { "nodes", "storedTemplates", "storedWorkflowTemplateSpec" }) status.Remove(heavy);
        return node.ToJsonString();
    }
}
