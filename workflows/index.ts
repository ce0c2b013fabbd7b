/** Workflow entry (workflowsPath / bundle): every exported function is a workflow type. */
export { scanDataSource } from './scan';
