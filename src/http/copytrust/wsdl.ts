import { escapeXml } from './soap-envelope-writer.js';
import {
  hashAlgorithms,
  operations,
  registrationSummaryFields,
  soapActionOf,
  taskStatuses,
  TARGET_NAMESPACE,
  type FieldSpec,
  type OperationName,
} from './service-contract.js';

/**
 * The service description (WSDL 1.1, document/literal wrapped) that .NET's svcutil/dotnet-svcutil,
 * Java's wsimport, PHP's SoapClient, 1C and zeep generate their stubs from: one self-contained file
 * (the schema inline, nothing imported), two bindings — SOAP 1.1 and SOAP 1.2 — with a port each at
 * the same address.
 */
export function copytrustWsdl(address: string): string {
  const names = Object.keys(operations) as OperationName[];
  const elements = names
    .map(
      (name) => `
      <xs:element name="${name}">
        <xs:complexType>${sequence(operations[name].request)}</xs:complexType>
      </xs:element>
      <xs:element name="${name}Response">
        <xs:complexType>${sequence(operations[name].response)}</xs:complexType>
      </xs:element>`,
    )
    .join('');
  const messages = names
    .map(
      (name) => `
  <wsdl:message name="${name}Request"><wsdl:part name="parameters" element="tns:${name}"/></wsdl:message>
  <wsdl:message name="${name}Response"><wsdl:part name="parameters" element="tns:${name}Response"/></wsdl:message>`,
    )
    .join('');
  const portOperations = names
    .map(
      (name) => `
    <wsdl:operation name="${name}">
      <wsdl:input message="tns:${name}Request"/>
      <wsdl:output message="tns:${name}Response"/>
      <wsdl:fault name="Fault" message="tns:FaultMessage"/>
    </wsdl:operation>`,
    )
    .join('');
  const binding = (prefix: 'soap' | 'soap12') =>
    names
      .map(
        (name) => `
    <wsdl:operation name="${name}">
      <${prefix}:operation soapAction="${soapActionOf(name)}" style="document"/>
      <wsdl:input><${prefix}:body use="literal"/></wsdl:input>
      <wsdl:output><${prefix}:body use="literal"/></wsdl:output>
      <wsdl:fault name="Fault"><${prefix}:fault name="Fault" use="literal"/></wsdl:fault>
    </wsdl:operation>`,
      )
      .join('');
  const location = escapeXml(address);
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="CopyTrust" targetNamespace="${TARGET_NAMESPACE}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="${TARGET_NAMESPACE}">
  <wsdl:documentation>Signet's COPYTRUST-compatible registration service: submit a file or a URL for registration (a TaskID comes back), follow the task, read the registration by its RID, check by hash before uploading. Authentication: HTTP Basic or a WS-Security UsernameToken (PasswordText) with a client service's id and secret.</wsdl:documentation>
  <wsdl:types>
    <xs:schema targetNamespace="${TARGET_NAMESPACE}" elementFormDefault="qualified">
      <xs:simpleType name="Guid">
        <xs:restriction base="xs:string">
          <xs:pattern value="[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"/>
        </xs:restriction>
      </xs:simpleType>
      <xs:simpleType name="TaskStatus">
        <xs:restriction base="xs:string">${taskStatuses.map((status) => `
          <xs:enumeration value="${status}"/>`).join('')}
        </xs:restriction>
      </xs:simpleType>
      <xs:simpleType name="HashAlgorithm">
        <xs:restriction base="xs:string">${hashAlgorithms.map((algorithm) => `
          <xs:enumeration value="${algorithm}"/>`).join('')}
        </xs:restriction>
      </xs:simpleType>
      <xs:complexType name="Registration">${sequence(registrationSummaryFields)}</xs:complexType>
      <xs:element name="Fault">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="Code" type="xs:string"/>
            <xs:element name="Message" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>${elements}
    </xs:schema>
  </wsdl:types>${messages}
  <wsdl:message name="FaultMessage"><wsdl:part name="detail" element="tns:Fault"/></wsdl:message>
  <wsdl:portType name="CopyTrustPortType">${portOperations}
  </wsdl:portType>
  <wsdl:binding name="CopyTrustSoap11Binding" type="tns:CopyTrustPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>${binding('soap')}
  </wsdl:binding>
  <wsdl:binding name="CopyTrustSoap12Binding" type="tns:CopyTrustPortType">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>${binding('soap12')}
  </wsdl:binding>
  <wsdl:service name="CopyTrustService">
    <wsdl:port name="CopyTrustSoap11Port" binding="tns:CopyTrustSoap11Binding">
      <soap:address location="${location}"/>
    </wsdl:port>
    <wsdl:port name="CopyTrustSoap12Port" binding="tns:CopyTrustSoap12Binding">
      <soap12:address location="${location}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}

function sequence(fields: readonly FieldSpec[]): string {
  const children = fields
    .map((spec) => {
      const occurs = `${spec.optional ? ' minOccurs="0"' : ''}${spec.repeated ? ' maxOccurs="unbounded"' : ''}`;
      return `
            <xs:element name="${spec.name}" type="${spec.type}"${occurs}/>`;
    })
    .join('');
  return `
          <xs:sequence>${children}
          </xs:sequence>
        `;
}
