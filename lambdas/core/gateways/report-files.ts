// Owns what the domain needs to publish a report: plain text objects (HTML, JSON, CSV) with
// their content type, overwritten whole. S3 implements it in clients/s3-store.ts.

export interface ReportFiles {
  readonly bucket: string;
  putText(key: string, body: string, contentType: string): Promise<void>;
}
