namespace EventGateway.Languages.GoTemplates;

/// <summary>Recursive-descent parser producing the tree Go's text/template/parse would, including its parse-time checks
/// (undefined functions and variables, break/continue outside range).</summary>
internal sealed class GoTemplateParser
{
    private readonly List<Token> tokens;
    private readonly List<string> vars = ["$"];
    private int index;
    private int rangeDepth;

    private GoTemplateParser(List<Token> tokens)
    {
        this.tokens = tokens;
    }

    public static ListNode Parse(string text)
    {
        var parser = new GoTemplateParser(GoTemplateLexer.Lex(text));
        var (list, stop) = parser.ParseList();
        if (stop is not null)
        {
            throw new GoTemplateError($"unexpected {{{{{stop.Text}}}}}", stop.Pos);
        }

        return list;
    }

    private Token Peek => tokens[index];

    private Token Take() => tokens[index++];

    private Token Expect(TokenKind kind, string context)
    {
        var token = Take();
        return token.Kind == kind ? token : throw Unexpected(token, context);
    }

    private static GoTemplateError Unexpected(Token token, string context) => token.Kind switch
    {
        TokenKind.Eof => new GoTemplateError("unexpected EOF", token.Pos),
        TokenKind.RightDelim => new GoTemplateError($"unexpected \"}}\" in {context}", token.Pos),
        _ => new GoTemplateError($"unexpected \"{token.Text}\" in {context}", token.Pos),
    };

    /// <summary>Parses nodes until EOF or an {{end}}/{{else}} action, which is consumed up to its keyword and returned.</summary>
    private (ListNode List, Token? Stop) ParseList()
    {
        var nodes = new List<GoTemplateNode>();
        var startPos = Peek.Pos;
        while (true)
        {
            var token = Take();
            switch (token.Kind)
            {
                case TokenKind.Eof:
                    index--;
                    return (new ListNode(startPos, nodes), null);
                case TokenKind.Text:
                    nodes.Add(new TextNode(token.Pos, token.Text));
                    continue;
            }

            var head = Peek;
            if (head.Kind == TokenKind.Keyword)
            {
                switch (head.Text)
                {
                    case "end" or "else":
                        index++;
                        return (new ListNode(startPos, nodes), head);
                    case "if" or "with" or "range":
                        index++;
                        nodes.Add(ParseBranch(head));
                        continue;
                    case "break" or "continue":
                        index++;
                        if (rangeDepth == 0)
                        {
                            throw new GoTemplateError($"{{{{{head.Text}}}}} outside {{{{range}}}}", head.Pos);
                        }

                        Expect(TokenKind.RightDelim, head.Text);
                        nodes.Add(new LoopControlNode(head.Pos, head.Text == "break"));
                        continue;
                    case "define" or "template" or "block":
                        throw new GoTemplateError($"{{{{{head.Text}}}}} is not supported in sensor templates", head.Pos);
                }
            }

            var pipe = ParsePipeline("command", TokenKind.RightDelim, allowTwoVars: false);
            nodes.Add(new ActionNode(token.Pos, pipe));
        }
    }

    private BranchNode ParseBranch(Token keyword)
    {
        var mark = vars.Count;
        var isRange = keyword.Text == "range";
        var pipe = ParsePipeline(keyword.Text, TokenKind.RightDelim, allowTwoVars: isRange);
        rangeDepth += isRange ? 1 : 0;
        var (body, stop) = ParseList();
        rangeDepth -= isRange ? 1 : 0;
        ListNode? elseList = null;
        if (stop is null)
        {
            throw new GoTemplateError("unexpected EOF", Peek.Pos);
        }

        if (stop.Text == "else")
        {
            // {{else if ...}} / {{else with ...}} nest a branch inside the else list, sharing this {{end}}.
            if (keyword.Text != "range" && Peek.Kind == TokenKind.Keyword && Peek.Text == keyword.Text)
            {
                var nested = Take();
                vars.RemoveRange(mark, vars.Count - mark);
                elseList = new ListNode(nested.Pos, [ParseBranch(nested)]);
                return new BranchNode(keyword.Pos, keyword.Text, pipe, body, elseList);
            }

            Expect(TokenKind.RightDelim, "else");
            (elseList, stop) = ParseList();
            if (stop is null || stop.Text != "end")
            {
                throw stop is null ? new GoTemplateError("unexpected EOF", Peek.Pos) : new GoTemplateError("expected end; found {{else}}", stop.Pos);
            }
        }

        Expect(TokenKind.RightDelim, "end");
        vars.RemoveRange(mark, vars.Count - mark);
        return new BranchNode(keyword.Pos, keyword.Text, pipe, body, elseList);
    }

    private PipeNode ParsePipeline(string context, TokenKind end, bool allowTwoVars)
    {
        var pos = Peek.Pos;
        var declared = new List<string>();
        var isAssign = false;
        if (Peek.Kind == TokenKind.Variable && tokens[index + 1].Kind is TokenKind.Declare or TokenKind.Assign or TokenKind.Comma)
        {
            declared.Add(Take().Text);
            if (Peek.Kind == TokenKind.Comma)
            {
                if (!allowTwoVars)
                {
                    throw new GoTemplateError($"too many declarations in {context}", Peek.Pos);
                }

                Take();
                declared.Add(Expect(TokenKind.Variable, context).Text);
            }

            var op = Take();
            if (op.Kind is not (TokenKind.Declare or TokenKind.Assign))
            {
                throw Unexpected(op, context);
            }

            isAssign = op.Kind == TokenKind.Assign;
            foreach (var name in declared)
            {
                if (isAssign && !vars.Contains(name))
                {
                    throw new GoTemplateError($"undefined variable \"{name}\"", op.Pos);
                }

                if (!isAssign)
                {
                    vars.Add(name);
                }
            }
        }

        var commands = new List<CommandNode>();
        while (true)
        {
            commands.Add(ParseCommand(context));
            var token = Take();
            if (token.Kind == end)
            {
                break;
            }

            if (token.Kind != TokenKind.Pipe)
            {
                throw Unexpected(token, context);
            }
        }

        for (var i = 1; i < commands.Count; i++)
        {
            if (commands[i].Args[0] is LiteralNode or NilNode or DotNode)
            {
                throw new GoTemplateError($"non executable command in pipeline stage {i + 1}", commands[i].Pos);
            }
        }

        return new PipeNode(pos, declared, isAssign, commands);
    }

    private CommandNode ParseCommand(string context)
    {
        var args = new List<GoTemplateNode>();
        var pos = Peek.Pos;
        while (Peek.Kind is not (TokenKind.Pipe or TokenKind.RightDelim or TokenKind.RightParen or TokenKind.Eof))
        {
            if (args.Count > 0 && !Peek.Spaced && Peek.Kind != TokenKind.LeftParen)
            {
                throw new GoTemplateError($"missing space before \"{Peek.Text}\"", Peek.Pos);
            }

            args.Add(ParseOperand(context));
        }

        if (args.Count == 0)
        {
            throw new GoTemplateError("missing value for " + context, pos);
        }

        if (args[0] is NilNode)
        {
            throw new GoTemplateError("nil is not a command", pos);
        }

        return new CommandNode(pos, args);
    }

    private GoTemplateNode ParseOperand(string context)
    {
        var term = ParseTerm(context);
        var fields = new List<string>();
        while (Peek.Kind == TokenKind.Field && !Peek.Spaced)
        {
            fields.Add((string)Take().Value!);
        }

        if (fields.Count == 0)
        {
            return term;
        }

        return term switch
        {
            FieldNode f => new FieldNode(f.Pos, [.. f.Fields, .. fields]),
            VariableNode v => new VariableNode(v.Pos, v.Name, [.. v.Fields, .. fields]),
            LiteralNode or NilNode or DotNode => throw new GoTemplateError($"unexpected . after term \"{term}\"", term.Pos),
            _ => new ChainNode(term.Pos, term, fields),
        };
    }

    private GoTemplateNode ParseTerm(string context)
    {
        var token = Take();
        switch (token.Kind)
        {
            case TokenKind.Identifier:
                return GoTemplateFunctions.Exists(token.Text)
                    ? new IdentifierNode(token.Pos, token.Text)
                    : throw new GoTemplateError($"function \"{token.Text}\" not defined", token.Pos);
            case TokenKind.Dot:
                return new DotNode(token.Pos);
            case TokenKind.Keyword when token.Text == "nil":
                return new NilNode(token.Pos);
            case TokenKind.Variable:
                return vars.Contains(token.Text)
                    ? new VariableNode(token.Pos, token.Text, [])
                    : throw new GoTemplateError($"undefined variable \"{token.Text}\"", token.Pos);
            case TokenKind.Field:
                return new FieldNode(token.Pos, [(string)token.Value!]);
            case TokenKind.Bool or TokenKind.Number or TokenKind.String:
                return new LiteralNode(token.Pos, token.Value!, token.Text);
            case TokenKind.LeftParen:
                return ParsePipeline("parenthesized pipeline", TokenKind.RightParen, allowTwoVars: false);
            default:
                throw Unexpected(token, "operand");
        }
    }
}
