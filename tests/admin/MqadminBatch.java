// Runs several mqadmin commands in one JVM (the real org.apache.rocketmq.tools.command.MQAdminStartup),
// so that the 3 s Netty shutdown at JVM exit is paid once. Reads one command per line from stdin,
// arguments separated by TAB; prints "@@@MQADMIN-BEGIN <n>" / "@@@MQADMIN-END <n>" around each output.
import org.apache.rocketmq.tools.command.MQAdminStartup;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

public class MqadminBatch {
    public static void main(String[] argv) throws Exception {
        System.setErr(System.out);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        int n = 0;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            System.out.println("@@@MQADMIN-BEGIN " + n);
            System.out.flush();
            try {
                freshCommands();
                MQAdminStartup.main0(line.split("\t"), null);
            } catch (Throwable t) {
                t.printStackTrace(System.out);
            }
            System.out.println();
            System.out.println("@@@MQADMIN-END " + n);
            System.out.flush();
            n++;
        }
        System.exit(0);
    }

    // Sub-command objects cache their producer/consumer (sendMessage, consumeMessage, ...): start each
    // command with new ones, as a fresh mqadmin process would.
    private static void freshCommands() throws Exception {
        java.lang.reflect.Field f = MQAdminStartup.class.getDeclaredField("subCommandList");
        f.setAccessible(true);
        ((java.util.List<?>) f.get(null)).clear();
    }
}
