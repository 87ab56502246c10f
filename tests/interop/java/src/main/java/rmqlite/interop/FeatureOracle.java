package rmqlite.interop;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONArray;
import com.alibaba.fastjson.JSONObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.AclUtils;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.acl.plain.PlainAccessValidator;
import org.apache.rocketmq.common.PlainAccessConfig;
import org.apache.rocketmq.filter.FilterFactory;
import org.apache.rocketmq.filter.expression.EvaluationContext;
import org.apache.rocketmq.filter.expression.Expression;
import org.apache.rocketmq.remoting.common.RemotingHelper;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

/**
 * Differential oracle for rmqlite's feature tests: runs the REAL RocketMQ 4.9.4 library code (rocketmq-filter,
 * rocketmq-acl) on inputs given as JSON lines on stdin and prints one JSON line per input on stdout.
 *
 * Usage: java -cp rmqlite-interop.jar rmqlite.interop.FeatureOracle   (then one request per line)
 *
 * Requests ("op"):
 * 1. {"op":"sql","expr":E,"props":[{..},..]} -> {"compile":null|MQFilterException.getMessage(),"str":toString,
 *    "results":["TRUE"|"FALSE"|"NULL"|"OTHER:<class>:<value>"|"EXC:<exception.toString()>", ..]}:
 *    SqlFilter.compile as the broker's CHECK_CLIENT_CONFIG does, then evaluate on each property map.
 * 2. {"op":"acl","home":DIR,"requests":[{"code":N,"ext":{..},"body":B64|null,"addr":"ip:port"},..]} ->
 *    {"results":["OK"|RemotingHelper.exceptionSimpleDesc(e), ..]}: PlainAccessValidator.parse + validate with
 *    rocketmq.home.dir=DIR (the broker answers SYSTEM_ERROR with exactly that text).
 * 3. {"op":"sign","code":N,"ext":{..},"body":B64|null,"ak":..,"sk":..} -> {"ext":{..}}: AclClientRPCHook output.
 * 4. {"op":"yaml","path":P} -> {"data":..,"accounts":[PlainAccessConfig..]} or {"error":..}: how
 *    PlainPermissionManager reads a plain_acl.yml (snakeyaml -> fastjson -> PlainAccessConfig).
 */
public final class FeatureOracle {
    private FeatureOracle() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.trim().isEmpty()) {
                continue;
            }
            Object out;
            try {
                out = handle(JSON.parseObject(line));
            } catch (Throwable t) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("oracle_error", t.toString());
                out = m;
            }
            System.out.println(JSON.toJSONString(out));
            System.out.flush();
        }
        System.exit(0);
    }

    private static Object handle(JSONObject req) throws Exception {
        switch (req.getString("op")) {
            case "sql": return sql(req);
            case "acl": return acl(req);
            case "sign": return sign(req);
            case "yaml": return yaml(req);
            default: throw new IllegalArgumentException("unknown op " + req.getString("op"));
        }
    }

    private static Map<String, Object> sql(JSONObject req) {
        Map<String, Object> out = new LinkedHashMap<>();
        Expression e;
        try {
            e = FilterFactory.INSTANCE.get("SQL92").compile(req.getString("expr"));
        } catch (Exception ex) {
            out.put("compile", ex.getMessage());
            return out;
        }
        out.put("compile", null);
        out.put("str", e.toString());
        List<String> results = new ArrayList<>();
        JSONArray props = req.getJSONArray("props");
        for (int i = 0; props != null && i < props.size(); i++) {
            final Map<String, String> p = new HashMap<>();
            JSONObject o = props.getJSONObject(i);
            for (String k : o.keySet()) {
                p.put(k, o.getString(k));
            }
            EvaluationContext ctx = new EvaluationContext() {
                @Override
                public Object get(String name) {
                    return p.get(name);
                }

                @Override
                public Map<String, Object> keyValues() {
                    return new HashMap<String, Object>(p);
                }
            };
            try {
                Object r = e.evaluate(ctx);
                if (r == null) {
                    results.add("NULL");
                } else if (r == Boolean.TRUE) {
                    results.add("TRUE");
                } else if (r == Boolean.FALSE) {
                    results.add("FALSE");
                } else {
                    results.add("OTHER:" + r.getClass().getSimpleName() + ":" + r);
                }
            } catch (Throwable t) {
                results.add("EXC:" + t);
            }
        }
        out.put("results", results);
        return out;
    }

    private static RemotingCommand command(JSONObject r) {
        RemotingCommand cmd = RemotingCommand.createRequestCommand(r.getIntValue("code"), null);
        JSONObject ext = r.getJSONObject("ext");
        if (ext != null) {
            HashMap<String, String> fields = new HashMap<>();
            for (String k : ext.keySet()) {
                fields.put(k, ext.getString(k));
            }
            cmd.setExtFields(fields);
        }
        String body = r.getString("body");
        if (body != null) {
            cmd.setBody(Base64.getDecoder().decode(body));
        }
        return cmd;
    }

    private static Map<String, Object> acl(JSONObject req) {
        System.setProperty("rocketmq.home.dir", req.getString("home"));
        PlainAccessValidator validator = new PlainAccessValidator();
        List<String> results = new ArrayList<>();
        JSONArray rs = req.getJSONArray("requests");
        for (int i = 0; i < rs.size(); i++) {
            JSONObject r = rs.getJSONObject(i);
            try {
                validator.validate(validator.parse(command(r), r.getString("addr")));
                results.add("OK");
            } catch (Throwable t) {
                results.add(RemotingHelper.exceptionSimpleDesc(t));
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("results", results);
        return out;
    }

    private static Map<String, Object> sign(JSONObject req) {
        RemotingCommand cmd = command(req);
        new AclClientRPCHook(new SessionCredentials(req.getString("ak"), req.getString("sk")))
            .doBeforeRequest("127.0.0.1:0", cmd);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("ext", cmd.getExtFields());
        String content = req.getString("content");
        if (content != null) {
            out.put("signature", AclUtils.calSignature(Base64.getDecoder().decode(content), req.getString("sk")));
        }
        return out;
    }

    private static Map<String, Object> yaml(JSONObject req) {
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            JSONObject data = AclUtils.getYamlDataObject(req.getString("path"), JSONObject.class);
            out.put("data", data);
            if (data != null && data.getJSONArray("accounts") != null) {
                List<PlainAccessConfig> accounts = data.getJSONArray("accounts").toJavaList(PlainAccessConfig.class);
                out.put("accounts", accounts);
            }
        } catch (Throwable t) {
            out.put("error", t.toString());
        }
        return out;
    }
}
