import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { routes } from "../lib/routes/index.ts";
import { Api } from "./constructs/api.ts";
import { Audit } from "./constructs/audit.ts";
import { Data } from "./constructs/data.ts";
import { acknowledgeFindings } from "./nag.ts";
import type { StageSettings } from "./stage.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface MicroPayStackProps extends StackProps {
  readonly stage: StageSettings;
}

/** MicroPay: data, API and audit composed into one stack per stage. */
export class MicroPayStack extends Stack {
  readonly data: Data;
  readonly api: Api;
  readonly audit: Audit;

  constructor(scope: Construct, id: string, props: MicroPayStackProps) {
    super(scope, id, props);
    const { stage } = props;
    this.data = new Data(this, "Data");
    const environment = {
      MICROPAY_TABLE_NAME: this.data.table.tableName,
      MICROPAY_STAGE: stage.name,
      MICROPAY_LOG_LEVEL: "INFO",
    };
    this.api = new Api(this, "Api", {
      routes,
      functionsDir: join(root, "functions"),
      table: this.data.table,
      stage,
      environment,
      logRetention: stage.logRetention,
      removalPolicy: stage.removalPolicy,
    });
    this.audit = new Audit(this, "Audit", {
      entry: join(root, "functions", "audit.ts"),
      table: this.data.table,
      environment,
      logRetention: stage.logRetention,
      auditRetention: RetentionDays.ONE_YEAR,
      removalPolicy: stage.removalPolicy,
    });
    new CfnOutput(this, "ApiUrl", { value: this.api.api.url });
    new CfnOutput(this, "AuditLogGroup", { value: this.audit.logGroup.logGroupName });
    acknowledgeFindings(this);
  }
}
