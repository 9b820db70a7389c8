import * as z from 'zod';

/**
 * The LMS event catalogue, as Adobe Learning Manager documents it. Data schemas are lenient where
 * ALM's own samples vary (dates as epoch seconds, epoch ms or ISO strings; ids as numbers or digit
 * strings) and keep unknown fields, so producers that send more than ALM documents are not refused.
 */
export type DeliveryKind = 'realtime' | 'batch';

const id = z.union([z.number().int().nonnegative(), z.string().min(1).max(200)]);
const text = z.string().min(1).max(200);
const date = z.union([z.number().nonnegative(), z.string().min(1).max(64)]);
const count = z.number().int().nonnegative();

const enrollment = {
  userId: id,
  loId: text,
  loInstanceId: text,
  loType: text,
  enrollmentSource: text.optional(),
  dateEnrolled: date.optional(),
};
const certificationCompletion = {
  userId: id,
  loId: text,
  loInstanceId: text,
  loType: text,
  enrollmentSource: text.optional(),
  dateCompleted: date.optional(),
};
const completion = { ...certificationCompletion, hasPassed: z.boolean().optional() };
const unenrollment = { userId: id, loId: text, loInstanceId: text, loType: text, enrollmentSource: text.optional() };
const learningObject = { loId: text, loType: text };
const learningObjectInstance = { loInstanceId: text, loId: text, loType: text };
const ciStats = { loInstanceId: text, waitlistCount: count, enrollmentCount: count, seatLimit: count.optional() };
const progress = {
  userId: id,
  loId: text,
  loInstanceId: text,
  loType: text,
  dateStarted: date.optional(),
  progressPercent: z.number().min(0).max(100),
};
const asyncUserGroupResponse = {
  status: text,
  request: z.looseObject({
    metadata: z.unknown().optional(),
    data: z.array(z.looseObject({ type: text, id })).optional(),
  }),
};

type Shape = Record<string, z.ZodType>;

export interface CatalogueEvent {
  readonly name: string;
  readonly delivery: DeliveryKind;
  readonly description: string;
  readonly dataFields: readonly string[];
  readonly dataSchema: z.ZodType<Record<string, unknown>>;
}

function event(name: string, delivery: DeliveryKind, description: string, shape: Shape): CatalogueEvent {
  return { name, delivery, description, dataFields: Object.keys(shape), dataSchema: z.looseObject(shape) };
}

const byAdmin = 'by an admin, a manager or the platform; sent in scheduled batches';

export const CATALOGUE: readonly CatalogueEvent[] = [
  event('COURSE_ENROLLMENT', 'realtime', 'A learner enrolled in a course themselves.', enrollment),
  event('LEARNING_PATH_ENROLLMENT', 'realtime', 'A learner enrolled in a learning path themselves.', enrollment),
  event('CERTIFICATION_ENROLLMENT', 'realtime', 'A learner enrolled in a certification themselves.', enrollment),
  event('COURSE_COMPLETED', 'realtime', 'A learner completed a course.', completion),
  event('LEARNING_PATH_COMPLETED', 'realtime', 'A learner completed a learning path.', completion),
  event('CERTIFICATION_COMPLETED', 'realtime', 'A learner completed a certification.', certificationCompletion),
  event('COURSE_UNENROLLMENT', 'realtime', 'A learner unenrolled from a course themselves.', unenrollment),
  event('LEARNING_PATH_UNENROLLMENT', 'realtime', 'A learner unenrolled from a learning path themselves.', unenrollment),
  event('CERTIFICATION_UNENROLLMENT', 'realtime', 'A learner unenrolled from a certification themselves.', unenrollment),
  event('LEARNING_OBJECT_DRAFT', 'realtime', 'A draft learning object was saved.', learningObject),
  event('LEARNING_OBJECT_DELETION', 'realtime', 'A learning object was deleted.', learningObject),
  event('LEARNING_OBJECT_MODIFICATION', 'realtime', 'A learning object was published, edited or retired.', learningObject),
  event('LEARNING_OBJECT_INSTANCE_MODIFICATION', 'realtime', 'A learning object instance was created, edited or retired.', learningObjectInstance),
  event('LEARNING_OBJECT_INSTANCE_DELETION', 'realtime', 'A learning object instance was deleted.', learningObjectInstance),
  event('CI_STATS', 'realtime', 'Seats or waitlist of a course instance changed.', ciStats),
  event('LEARNING_PATH_COMPLETION_ROLLBACK', 'realtime', "A learner's learning path completion was rolled back.", enrollment),
  event('RESPONSE:ASYNCAPI_USERGROUP_USER_ADDED', 'realtime', 'Result of an asynchronous request to add users to a user group.', asyncUserGroupResponse),
  event('RESPONSE:ASYNCAPI_USERGROUP_USER_REMOVED', 'realtime', 'Result of an asynchronous request to remove users from a user group.', asyncUserGroupResponse),
  event('COURSE_ENROLLMENT_BATCH', 'batch', `Learners were enrolled in a course ${byAdmin}.`, enrollment),
  event('LEARNING_PATH_ENROLLMENT_BATCH', 'batch', `Learners were enrolled in a learning path ${byAdmin}.`, enrollment),
  event('CERTIFICATION_ENROLLMENT_BATCH', 'batch', `Learners were enrolled in a certification ${byAdmin}.`, enrollment),
  event('COURSE_COMPLETED_BATCH', 'batch', `Course completions recorded ${byAdmin}.`, completion),
  event('LEARNING_PATH_COMPLETED_BATCH', 'batch', `Learning path completions recorded ${byAdmin}.`, completion),
  event('CERTIFICATION_COMPLETED_BATCH', 'batch', `Certification completions recorded ${byAdmin}.`, certificationCompletion),
  event('COURSE_UNENROLLMENT_BATCH', 'batch', `Learners were unenrolled from a course ${byAdmin}.`, unenrollment),
  event('LEARNING_PATH_UNENROLLMENT_BATCH', 'batch', `Learners were unenrolled from a learning path ${byAdmin}.`, unenrollment),
  event('CERTIFICATION_UNENROLLMENT_BATCH', 'batch', `Learners were unenrolled from a certification ${byAdmin}.`, unenrollment),
  event('LEARNER_PROGRESS', 'batch', "Learners' progress in learning objects (aggregated; may lag up to 15 minutes).", progress),
  event('LEARNING_OBJECT_MODIFICATION_BATCH', 'batch', 'Learning objects changed by a migration.', learningObject),
  event('LEARNING_OBJECT_INSTANCE_MODIFICATION_BATCH', 'batch', 'Learning object instances changed by a migration.', learningObjectInstance),
  event('LEARNING_PATH_COMPLETION_ROLLBACK_BATCH', 'batch', `Learning path completions rolled back ${byAdmin}.`, enrollment),
];

const byName = new Map(CATALOGUE.map((e) => [e.name, e]));

export const EVENT_NAMES = CATALOGUE.map((e) => e.name) as [string, ...string[]];

export function findEvent(name: string): CatalogueEvent | undefined {
  return byName.get(name);
}

export const CatalogueViewSchema = z.array(
  z.object({ name: z.string(), delivery: z.enum(['realtime', 'batch']), description: z.string(), dataFields: z.array(z.string()) }),
);

/** The public view served by `GET /events`. */
export function catalogueView(): z.infer<typeof CatalogueViewSchema> {
  return CATALOGUE.map(({ name, delivery, description, dataFields }) => ({ name, delivery, description, dataFields: [...dataFields] }));
}
