import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { Data } from "./data.ts";
import { HouseFunction } from "./house-function.ts";

export interface HoldSweeperProps {
  readonly stageName: string;
  readonly entry: string;
  readonly data: Data;
  readonly logsKey: IKey;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** How often the sweep runs (default: every minute). */
  readonly interval?: Duration;
}

/**
 * The expired-hold sweeper (lib/ledger/expiry.ts `sweepExpiredHolds`, the same code the
 * local stack's timer runs): an EventBridge schedule invokes a small function that
 * releases, for the books, every open hold past its `captureBefore` (payment.expired).
 * Correctness never waits for it: an expired hold already reads canceled and gives its
 * funds back to the movement that needs them. Table actions: the HOLDS partition of
 * gsi1 (Query), the payment (Get), one settling transaction per hold (payment and
 * account Update, hold Delete, audit and event Put).
 */
export class HoldSweeper extends Construct {
  readonly sweeper: HouseFunction;
  readonly rule: Rule;
  readonly alarms: Alarm[] = [];
  private readonly stageName: string;

  constructor(scope: Construct, id: string, props: HoldSweeperProps) {
    super(scope, id);
    this.stageName = props.stageName;
    this.sweeper = new HouseFunction(this, "Sweeper", {
      entry: props.entry,
      description: "MicroPay hold sweeper (releases expired holds)",
      environment: props.environment,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      logsKey: props.logsKey,
      memorySize: 256,
      timeout: Duration.seconds(60),
    });
    const grant = {
      actions: ["GetItem", "PutItem", "UpdateItem", "DeleteItem"],
      query: ["gsi1"],
    } as const;
    for (const s of props.data.statementsFor("write", grant)) {
      this.sweeper.role.addToPrincipalPolicy(s);
    }
    this.rule = new Rule(this, "SweepSchedule", {
      description: "MicroPay: release holds past their captureBefore",
      schedule: Schedule.rate(props.interval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(this.sweeper.fn, { retryAttempts: 0 })],
    });
  }

  /** Alarm: the sweeper failing. */
  addAlarms(action: IAlarmAction): void {
    const alarm = new Alarm(this, "holds-sweeper-errors", {
      alarmName: `micropay-${this.stageName}-holds-sweeper-errors`,
      metric: this.sweeper.fn.metricErrors({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
  }
}
